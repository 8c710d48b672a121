import type { Offer } from "./discoverOffers.ts";

/** What a provider's `GET /health` said: ready or not, and the checks that failed. */
export type ProviderHealth = { ready: boolean; failing: string[] };

export type ProviderHealthOptions = {
  /** How long a provider's answer is reused. Default 5 s. */
  ttlMs?: number;
  /** How long to wait for a provider's `/health`. Default 2 s. */
  timeoutMs?: number;
  now?: () => number;
};

/**
 * Providers' readiness, as their `GET /health` reports it (see createProviderReadiness): 200 is
 * ready, 503 with `failing` is not (its store cannot be written, its stake or offer is missing, it
 * cannot reach the chain). Cached per endpoint. A provider that cannot be reached or answers
 * anything else gives undefined: whether it serves is then found out by sending it the request.
 *
 * @example
 * const health = createProviderHealth();
 * (await health.of(offer))?.ready // false while its store cannot be written
 */
export function createProviderHealth(options: ProviderHealthOptions = {}) {
  const ttlMs = options.ttlMs ?? 5_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; health: Promise<ProviderHealth | undefined> }>();

  const read = async (endpoint: string): Promise<ProviderHealth | undefined> => {
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(options.timeoutMs ?? 2_000) });
      if (res.status === 200) {
        await res.body?.cancel();
        return { ready: true, failing: [] };
      }
      if (res.status !== 503) {
        await res.body?.cancel();
        return undefined;
      }
      const body = (await res.json()) as { failing?: unknown };
      const failing = Array.isArray(body.failing) ? body.failing.filter((f): f is string => typeof f === "string").map((f) => f.slice(0, 64)) : [];
      return { ready: false, failing };
    } catch {
      return undefined;
    }
  };

  return {
    /** What `offer`'s provider says of its readiness, or undefined when it does not say. */
    of(offer: Offer): Promise<ProviderHealth | undefined> {
      let hit = cache.get(offer.endpoint);
      if (!hit || now() - hit.at >= ttlMs) {
        hit = { at: now(), health: read(offer.endpoint) };
        cache.set(offer.endpoint, hit);
      }
      return hit.health;
    },
  };
}

export type ProviderHealthReader = ReturnType<typeof createProviderHealth>;
