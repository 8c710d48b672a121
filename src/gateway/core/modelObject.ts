import { CAPABILITIES } from "../../protocol/capabilities.ts";
import type { ProviderInfo } from "../createProviderInfo.ts";
import type { Router } from "../createRouter.ts";
import type { Offer } from "../discoverOffers.ts";
import { quantizationLevel } from "../quantizationLevel.ts";

/** A model as the router lists it: its name and every offer of it. */
export type ListedModel = Awaited<ReturnType<Router["listModels"]>>[number];

/** What describing a model reads: the router's liveness and measurements, providers' stated facts, and whether requests are sealed. */
export type ModelContext = { router: Router; providerInfo: ProviderInfo; seal: boolean };

/**
 * A model on offer in the OpenAI shape, with OpenRouter's `context_length` (the largest context a
 * live provider states it serves, null when none says) and what Gotong adds: its registry id,
 * weights, the number of live providers, what they can do together (`capabilities`, `sealed`),
 * the lowest prices among them, and each offer in detail.
 */
export async function modelObject(m: ListedModel, { router, providerInfo, seal }: ModelContext) {
  const live = m.offers.filter((o) => router.isLive(o.provider));
  const priced = live.length ? live : m.offers;
  const lowest = (of: (o: Offer) => bigint) => priced.map(of).reduce((a, b) => (a < b ? a : b)).toString();
  const sealedTo = (o: Offer) => seal && /^0x(?!0+$)[0-9a-fA-F]{64}$/.test(o.hpkePublicKey);
  const stated = await Promise.all(m.offers.map((o) => providerInfo.of(o)));
  const contexts = m.offers.flatMap((o, i) => (router.isLive(o.provider) && stated[i]?.contextSize !== undefined ? [stated[i]!.contextSize!] : []));
  return {
    id: m.name,
    object: "model" as const,
    created: 0,
    owned_by: "gotong",
    context_length: contexts.length ? Math.max(...contexts) : null,
    gotong: {
      modelId: m.offers[0]!.modelId.toString(),
      weightsHash: m.offers[0]!.weightsHash,
      providers: live.length,
      capabilities: CAPABILITIES.filter((c) => live.some((o) => o.capabilities.includes(c))),
      sealed: live.length > 0 && live.every(sealedTo),
      pricePerMillionInput: lowest((o) => o.price.pricePerMillionInput),
      pricePerMillionOutput: lowest((o) => o.price.pricePerMillionOutput),
      offers: m.offers.map((o, i) => ({
        provider: o.provider,
        live: router.isLive(o.provider),
        capabilities: o.capabilities,
        sealed: sealedTo(o),
        pricePerMillionInput: o.price.pricePerMillionInput.toString(),
        pricePerMillionOutput: o.price.pricePerMillionOutput.toString(),
        contextLength: stated[i]?.contextSize ?? null,
        quantization: quantizationLevel(stated[i]?.weightType) ?? (stated[i]?.weightType ? null : "unknown"),
        weightType: stated[i]?.weightType ?? null,
        engine: stated[i]?.engine ?? null,
        latencyMs: router.measured(o.provider).latencyMs ?? null,
        tokensPerSecond: router.measured(o.provider).tokensPerSecond ?? null,
      })),
    },
  };
}

/** A model as `GET /v1/models` lists it. */
export type ModelObject = Awaited<ReturnType<typeof modelObject>>;
