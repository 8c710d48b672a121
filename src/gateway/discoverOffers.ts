import type { Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { ModelRegistryArtifact, ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Price } from "../payments/price.ts";
import { decodeCapabilities, type Capability } from "../protocol/capabilities.ts";

/** One provider's offer of one model, as the chain records it. */
export type Offer = {
  provider: Address;
  endpoint: string;
  hpkePublicKey: Hex;
  stake: bigint;
  modelId: bigint;
  modelName: string;
  weightsHash: Hex;
  royaltyBps: number;
  price: Price;
  /** What the offer serves, decoded from the on-chain bitmask (bits this version does not know are dropped). */
  capabilities: readonly Capability[];
};

/** Reads every active provider's offers and the models they name from the registries. */
export async function discoverOffers(client: PublicClient, deployment: Deployment): Promise<Offer[]> {
  const providers = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  const models = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const addresses = (await client.readContract({ ...providers, functionName: "getProviders" })) as readonly Address[];
  const modelCache = new Map<bigint, Promise<{ name: string; weightsHash: Hex; royaltyBps: number }>>();
  const modelOf = (id: bigint) => {
    let hit = modelCache.get(id);
    if (!hit) {
      hit = client.readContract({ ...models, functionName: "getModel", args: [id] }) as Promise<{ name: string; weightsHash: Hex; royaltyBps: number }>;
      modelCache.set(id, hit);
    }
    return hit;
  };
  const perProvider = await Promise.all(
    addresses.map(async (provider) => {
      const [active, record, offers] = await Promise.all([
        client.readContract({ ...providers, functionName: "isActive", args: [provider] }) as Promise<boolean>,
        client.readContract({ ...providers, functionName: "getProvider", args: [provider] }) as Promise<{ endpoint: string; hpkePublicKey: Hex; stake: bigint }>,
        client.readContract({ ...providers, functionName: "getOffers", args: [provider] }) as Promise<
          readonly { modelId: bigint; pricePerMillionInput: bigint; pricePerMillionOutput: bigint; capabilities: bigint }[]
        >,
      ]);
      if (!active) return [];
      return Promise.all(
        offers.map(async (o): Promise<Offer> => {
          const model = await modelOf(o.modelId);
          return {
            provider,
            endpoint: record.endpoint,
            hpkePublicKey: record.hpkePublicKey,
            stake: record.stake,
            modelId: o.modelId,
            modelName: model.name,
            weightsHash: model.weightsHash,
            royaltyBps: Number(model.royaltyBps),
            price: { pricePerMillionInput: o.pricePerMillionInput, pricePerMillionOutput: o.pricePerMillionOutput },
            capabilities: decodeCapabilities(o.capabilities),
          };
        }),
      );
    }),
  );
  return perProvider.flat();
}
