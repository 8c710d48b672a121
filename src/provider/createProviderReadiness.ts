import type { Address, PublicClient } from "viem";
import { ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import { createReadiness, type Readiness } from "../common/createReadiness.ts";
import type { InferenceBackend } from "./backend.ts";

export type ProviderReadinessOptions = {
  client: PublicClient;
  providerRegistry: Address;
  /** The provider's account. */
  provider: Address;
  /** The models it serves, each with the engine running it. */
  models: { name: string; modelId: bigint; backend: InferenceBackend }[];
  /** Its store; `checkWritable` commits a write and throws when it cannot. */
  store: { checkWritable(): void };
  /** How long the chain's answers (reachable, registered, offers) are reused. Default 2 s. */
  chainCacheMs?: number;
  /** How long the store's answer is reused (each check is a committed write). Default 1 s. */
  storeCacheMs?: number;
};

/**
 * What a provider must have to be paid for serving, as `GET /health` reports it: the chain
 * reachable, every served model loaded, the provider registered with at least the minimum stake
 * and an offer for each model it serves, and its store writable (vouchers and receipts go there
 * before any answer does).
 *
 * @example
 * const readiness = createProviderReadiness({ client, providerRegistry, provider, models, store });
 * (await readiness.check()).failing // [] when ready, e.g. ["registration"] before the offer is set
 */
export function createProviderReadiness(options: ProviderReadinessOptions): Readiness {
  const registry = { address: options.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  const chainCacheMs = options.chainCacheMs ?? 2_000;
  return createReadiness({
    chain: {
      cacheMs: chainCacheMs,
      run: async () => ({ blockNumber: await options.client.getBlockNumber({ cacheTime: 0 }) }),
    },
    model: {
      run: async () => {
        for (const { backend } of options.models) await backend.checkReady?.();
        return { models: options.models.map((m) => ({ name: m.name, modelId: m.modelId, engine: m.backend.engine })) };
      },
    },
    registration: {
      cacheMs: chainCacheMs,
      run: async () => {
        const [active, record, offers] = await Promise.all([
          options.client.readContract({ ...registry, functionName: "isActive", args: [options.provider] }) as Promise<boolean>,
          options.client.readContract({ ...registry, functionName: "getProvider", args: [options.provider] }) as Promise<unknown> as Promise<{ registered: boolean; stake: bigint }>,
          options.client.readContract({ ...registry, functionName: "getOffers", args: [options.provider] }) as Promise<readonly { modelId: bigint }[]>,
        ]);
        if (!record.registered) throw new Error(`${options.provider} is not registered in the provider registry`);
        if (!active) throw new Error(`stake ${record.stake} is below the registry's minimum: no channel can be opened to this provider`);
        const offered = new Set(offers.map((o) => o.modelId));
        const missing = options.models.filter((m) => !offered.has(m.modelId));
        if (missing.length) throw new Error(`no offer on-chain for ${missing.map((m) => `${m.name} (model ${m.modelId})`).join(", ")}`);
        return { stake: record.stake, offers: [...offered] };
      },
    },
    store: {
      cacheMs: options.storeCacheMs ?? 1_000,
      run: () => options.store.checkWritable(),
    },
  });
}
