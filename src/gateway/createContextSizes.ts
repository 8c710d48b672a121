import type { Offer } from "./discoverOffers.ts";

/**
 * The largest context a provider is believed to serve. A request without `max_tokens` may run until
 * its context ends, so the deposit covers that many tokens: a provider claiming more than this is
 * held to it (its claim only raises what the gateway escrows, never what it pays: receipts are
 * still bounded by the text that arrives).
 */
export const MAX_CONTEXT_TOKENS = 1_048_576;

export type ContextSizesOptions = {
  /** How long a provider's answer is reused. Default 60 s. */
  ttlMs?: number;
  /** How long to wait for a provider's `/gotong/info`. Default 5 s. */
  timeoutMs?: number;
  now?: () => number;
};

/**
 * The context size each provider serves a model with, as it states in `/gotong/info` (the number its
 * payment guard uses to price a request that names no `max_tokens`). Read when first needed and
 * cached per provider endpoint; a provider that cannot say is a failure to serve, not a guess.
 *
 * @example
 * const contextSizes = createContextSizes();
 * const tokens = await contextSizes.of(offer); // 2048
 */
export function createContextSizes(options: ContextSizesOptions = {}) {
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; sizes: Promise<Map<string, number>> }>();

  const read = async (endpoint: string): Promise<Map<string, number>> => {
    const res = await fetch(`${endpoint}/gotong/info`, { signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
    if (!res.ok) throw new Error(`${endpoint}/gotong/info answered ${res.status}`);
    const info = (await res.json()) as { models?: { modelId?: unknown; contextSize?: unknown }[] };
    const sizes = new Map<string, number>();
    for (const m of Array.isArray(info.models) ? info.models : []) {
      if (typeof m?.modelId === "string" && Number.isSafeInteger(m.contextSize) && (m.contextSize as number) > 0) {
        sizes.set(m.modelId, Math.min(m.contextSize as number, MAX_CONTEXT_TOKENS));
      }
    }
    return sizes;
  };

  return {
    /** The context size `offer`'s provider serves its model with; rejects when the provider cannot say. */
    async of(offer: Offer): Promise<number> {
      let hit = cache.get(offer.endpoint);
      if (!hit || now() - hit.at > ttlMs) {
        hit = { at: now(), sizes: read(offer.endpoint) };
        cache.set(offer.endpoint, hit);
        // A failed read is not remembered: the next request asks again.
        hit.sizes.catch(() => cache.get(offer.endpoint) === hit && cache.delete(offer.endpoint));
      }
      const size = (await hit.sizes).get(offer.modelId.toString());
      if (size === undefined) throw new Error(`provider ${offer.provider} states no context size for model ${offer.modelId}`);
      return size;
    },
  };
}

export type ContextSizes = ReturnType<typeof createContextSizes>;
