import { isCapability, type Capability } from "../protocol/capabilities.ts";
import { PROTOCOL_VERSION_HEADERS } from "../protocol/protocolVersion.ts";
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

/**
 * The largest context a provider is believed to serve. A request without `max_tokens` may run until
 * its context ends, so the deposit covers that many tokens: a provider claiming more than this is
 * held to it (its claim only raises what the gateway escrows, never what it pays: receipts are
 * still bounded by the text that arrives).
 */
export const MAX_CONTEXT_TOKENS = 1_048_576;

export type ProviderInfoOptions = {
  /** How long a provider's answer is reused. Default 60 s. */
  ttlMs?: number;
  /** How long to wait for a provider's `/gotong/info`. Default 5 s. */
  timeoutMs?: number;
  now?: () => number;
};

/**
 * What providers state about the models they serve (`/gotong/info`): context size, quantization,
 * engine. Read when first needed, cached per endpoint, never guessed: a provider that cannot be
 * reached or does not say gives undefined (`contextSizeOf` says why instead, since a request is
 * priced with it). The weights behind an offer are pinned by their hash on
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
  const cache = new Map<string, { at: number; models: Promise<Map<string, ServedModelInfo>> }>();

  /** The provider's statements, read at most once per `ttlMs`; a failed read is not remembered. */
  const modelsOf = (endpoint: string) => {
    let hit = cache.get(endpoint);
    if (!hit || now() - hit.at > ttlMs) {
      const fresh = { at: now(), models: read(endpoint) };
      fresh.models.catch(() => cache.get(endpoint) === fresh && cache.delete(endpoint));
      cache.set(endpoint, fresh);
      hit = fresh;
    }
    return hit.models;
  };

  const read = async (endpoint: string): Promise<Map<string, ServedModelInfo>> => {
      const res = await fetch(`${endpoint}/gotong/info`, { headers: PROTOCOL_VERSION_HEADERS, signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
      if (!res.ok) throw new Error(`${endpoint}/gotong/info answered ${res.status}`);
      const info = (await res.json()) as { models?: Record<string, unknown>[] };
      const models = new Map<string, ServedModelInfo>();
      for (const m of Array.isArray(info.models) ? info.models : []) {
        if (typeof m?.modelId !== "string") continue;
        const contextSize = Number.isSafeInteger(m.contextSize) && (m.contextSize as number) > 0 ? Math.min(m.contextSize as number, MAX_CONTEXT_TOKENS) : undefined;
        const weightType = typeof m.weightType === "string" && /^[A-Za-z0-9_]{1,16}$/.test(m.weightType) ? m.weightType.toUpperCase() : undefined;
        const engine = typeof m.engine === "string" ? m.engine.slice(0, 64) : undefined;
        const capabilities = Array.isArray(m.capabilities) ? m.capabilities.filter(isCapability) : undefined;
        models.set(m.modelId, { contextSize, weightType, engine, capabilities });
      }
      return models;
  };

  return {
    /** What `offer`'s provider states about its model, or undefined when it cannot be reached or does not list it. */
    async of(offer: Offer): Promise<ServedModelInfo | undefined> {
      return (await modelsOf(offer.endpoint).catch(() => undefined))?.get(offer.modelId.toString());
    },
    /**
     * The context size `offer`'s provider serves its model with (the number its payment guard prices
     * a request without `max_tokens` by), capped at MAX_CONTEXT_TOKENS; rejects, saying why, when
     * the provider cannot be reached or does not say.
     */
    async contextSizeOf(offer: Offer): Promise<number> {
      const size = (await modelsOf(offer.endpoint)).get(offer.modelId.toString())?.contextSize;
      if (size === undefined) throw new Error(`provider ${offer.provider} states no context size for model ${offer.modelId}`);
      return size;
    },
  };
}

export type ProviderInfo = ReturnType<typeof createProviderInfo>;
