import { isCapability, type Capability } from "../protocol/capabilities.ts";
import type { Offer } from "./discoverOffers.ts";

/** What a provider states about one model it serves in `/gotong/info`, beyond its on-chain offer. */
export type ServedModelInfo = {
  /** Tokens of prompt plus output it serves the model with. */
  contextSize?: number;
  /** The ggml type most of the weights are stored in (`Q4_K`, `F16`…): the quantization. */
  weightType?: string;
  /** Its engine (`llama.cpp`, `upstream`). */
  engine?: string;
  /** What its engine serves; the on-chain offer is what routing uses. */
  capabilities?: Capability[];
};

export type ProviderInfoOptions = {
  /** How long a provider's answer is reused. Default 60 s. */
  ttlMs?: number;
  /** How long to wait for a provider's `/gotong/info`. Default 3 s. */
  timeoutMs?: number;
  now?: () => number;
};

/**
 * What providers state about the models they serve (`/gotong/info`): context size, quantization,
 * engine. Read when first needed, cached per endpoint, never guessed: a provider that cannot be
 * reached or does not say gives undefined. The weights behind an offer are pinned by their hash on
 * the chain, so a stated quantization is a claim about those exact weights, which any validator
 * re-running them can check.
 *
 * @example
 * const info = createProviderInfo();
 * (await info.of(offer))?.weightType // "Q4_K"
 */
export function createProviderInfo(options: ProviderInfoOptions = {}) {
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; models: Promise<Map<string, ServedModelInfo> | undefined> }>();

  const read = async (endpoint: string): Promise<Map<string, ServedModelInfo> | undefined> => {
    try {
      const res = await fetch(`${endpoint}/gotong/info`, { signal: AbortSignal.timeout(options.timeoutMs ?? 3_000) });
      if (!res.ok) return undefined;
      const info = (await res.json()) as { models?: Record<string, unknown>[] };
      const models = new Map<string, ServedModelInfo>();
      for (const m of Array.isArray(info.models) ? info.models : []) {
        if (typeof m?.modelId !== "string") continue;
        const contextSize = Number.isSafeInteger(m.contextSize) && (m.contextSize as number) > 0 ? (m.contextSize as number) : undefined;
        const weightType = typeof m.weightType === "string" && /^[A-Za-z0-9_]{1,16}$/.test(m.weightType) ? m.weightType.toUpperCase() : undefined;
        const engine = typeof m.engine === "string" ? m.engine.slice(0, 64) : undefined;
        const capabilities = Array.isArray(m.capabilities) ? m.capabilities.filter(isCapability) : undefined;
        models.set(m.modelId, { contextSize, weightType, engine, capabilities });
      }
      return models;
    } catch {
      return undefined;
    }
  };

  return {
    /** What `offer`'s provider states about its model, or undefined when it cannot be reached or does not list it. */
    async of(offer: Offer): Promise<ServedModelInfo | undefined> {
      let hit = cache.get(offer.endpoint);
      if (!hit || now() - hit.at > ttlMs) {
        hit = { at: now(), models: read(offer.endpoint) };
        cache.set(offer.endpoint, hit);
      }
      const models = await hit.models;
      // An unreachable provider is asked again next time, not remembered as saying nothing.
      if (!models && cache.get(offer.endpoint) === hit) cache.delete(offer.endpoint);
      return models?.get(offer.modelId.toString());
    },
  };
}

export type ProviderInfo = ReturnType<typeof createProviderInfo>;
