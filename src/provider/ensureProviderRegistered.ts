import { erc20Abi, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import type { Logger } from "../common/logger.ts";
import type { Price } from "../payments/price.ts";
import { encodeCapabilities, type Capability } from "../protocol/capabilities.ts";

type ProviderRecord = { registered: boolean; paused: boolean; stake: bigint; endpoint: string; hpkePublicKey: Hex };

/** One model this provider offers: its prices, and what it serves (never empty). */
export type OfferTerms = { modelId: bigint; price: Price; capabilities: readonly Capability[] };

/**
 * Makes the chain say what this provider is: registered with at least the minimum stake, at this
 * endpoint, with this HPKE key, offering these models at these prices with these capabilities,
 * not paused (a provider that stopped cleanly paused itself, see pauseProviderOffers). Sends only
 * the transactions needed, so a restart with the same settings costs only the resume.
 */
export async function ensureProviderRegistered(
  clients: ChainClients,
  deployment: Deployment,
  options: { endpoint: string; hpkePublicKey: Hex; stake?: bigint; offers: OfferTerms[]; logger?: Logger },
): Promise<void> {
  const registry = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  const me = clients.account.address;
  const record = (await clients.public.readContract({ ...registry, functionName: "getProvider", args: [me] })) as unknown as ProviderRecord;
  if (!record.registered) {
    const stake = options.stake ?? BigInt(deployment.minStake);
    await writeAndWait(clients, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [deployment.providerRegistry, stake] });
    await writeAndWait(clients, { ...registry, functionName: "register", args: [options.endpoint, options.hpkePublicKey, stake] });
    options.logger?.info("registered as provider", { address: me, stake });
  } else {
    if (record.endpoint !== options.endpoint) await writeAndWait(clients, { ...registry, functionName: "setEndpoint", args: [options.endpoint] });
    if (record.hpkePublicKey.toLowerCase() !== options.hpkePublicKey.toLowerCase()) {
      await writeAndWait(clients, { ...registry, functionName: "setHpkeKey", args: [options.hpkePublicKey] });
    }
    if (record.paused) {
      await writeAndWait(clients, { ...registry, functionName: "setPaused", args: [false] });
      options.logger?.info("offers resumed", { address: me });
    }
  }
  const offers = (await clients.public.readContract({ ...registry, functionName: "getOffers", args: [me] })) as unknown as {
    modelId: bigint;
    pricePerMillionInput: bigint;
    pricePerMillionOutput: bigint;
    capabilities: bigint;
  }[];
  for (const offer of options.offers) {
    const capabilities = encodeCapabilities(offer.capabilities);
    const current = offers.find((o) => o.modelId === offer.modelId);
    if (
      current &&
      current.pricePerMillionInput === offer.price.pricePerMillionInput &&
      current.pricePerMillionOutput === offer.price.pricePerMillionOutput &&
      current.capabilities === capabilities
    ) {
      continue;
    }
    await writeAndWait(clients, {
      ...registry,
      functionName: "setOffer",
      args: [offer.modelId, offer.price.pricePerMillionInput, offer.price.pricePerMillionOutput, capabilities],
    });
    options.logger?.info("offer set", {
      modelId: offer.modelId,
      input: offer.price.pricePerMillionInput,
      output: offer.price.pricePerMillionOutput,
      capabilities: offer.capabilities.join(","),
    });
  }
}
