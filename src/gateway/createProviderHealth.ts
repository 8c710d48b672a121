import { checkProtocolVersion, PROTOCOL_VERSION_HEADERS } from "../protocol/protocolVersion.ts";
import { HEADERS, PROTOCOL_VERSION } from "../protocol/wire.ts";
import type { Offer } from "./discoverOffers.ts";

/** What a provider's `GET /health` said: ready or not, and the checks that failed. */
export type ProviderHealth = { ready: boolean; failing: string[] };

export type ProviderHealthOptions = {
  /** How long a provider's answer is reused. Default 5 s. */
  ttlMs?: number;
  /**
   * How old an answer may be and still be used while the provider is asked again: past `ttlMs` a
   * new `/health` read starts, but only past `staleMs` do requests wait for it. Default three
   * times `ttlMs`.
   */
  staleMs?: number;
  /** How long to wait for a provider's `/health`. Default 2 s. */
  timeoutMs?: number;
  now?: () => number;
};

/**
 * Providers' readiness, as their `GET /health` reports it (see createProviderReadiness): 200 is
 * ready, 503 with `failing` is not (its store cannot be written, its stake or offer is missing, it
 * cannot reach the chain). Cached per endpoint. A provider that cannot be reached or answers
 * anything else gives undefined: whether it serves is then found out by sending it the request.
 * A provider that speaks another version of the wire protocol is not ready, whatever it says: it
 * would refuse every request (or misread it).
 *
 * @example
 * const health = createProviderHealth();
 * (await health.of(offer))?.ready // false while its store cannot be written
 */
export function createProviderHealth(options: ProviderHealthOptions = {}) {
  const ttlMs = options.ttlMs ?? 5_000;
  const now = options.now ?? Date.now;
  const staleMs = options.staleMs ?? ttlMs * 3;
  /** Per endpoint: when its answer was asked for, the answer, whether it has arrived, and a re-read under way. */
  const cache = new Map<string, { at: number; health: Promise<ProviderHealth | undefined>; settled: boolean; next?: Promise<void> }>();

  const read = async (endpoint: string): Promise<ProviderHealth | undefined> => {
    try {
      const res = await fetch(`${endpoint}/health`, { headers: PROTOCOL_VERSION_HEADERS, signal: AbortSignal.timeout(options.timeoutMs ?? 2_000) });
      const version = res.headers.get(HEADERS.protocolVersion);
      try {
        checkProtocolVersion(version, { local: "gateway", remote: "provider" });
      } catch {
        await res.body?.cancel();
        return { ready: false, failing: [`protocol version ${version!.slice(0, 16)} (this gateway speaks ${PROTOCOL_VERSION})`] };
      }
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
      const { endpoint } = offer;
      const hit = cache.get(endpoint);
      const age = hit ? now() - hit.at : Infinity;
      if (hit && age < ttlMs) return hit.health;
      if (hit?.settled && age < staleMs) {
        // Due again: ask behind the requests, which go on with the last answer. A burst never waits
        // for a /health round trip (in `gotong up` the provider's answer queues behind the burst).
        hit.next ??= read(endpoint).then((health) => void cache.set(endpoint, { at: now(), health: Promise.resolve(health), settled: true }));
        return hit.health;
      }
      const entry = { at: now(), health: read(endpoint), settled: false };
      void entry.health.then(() => (entry.settled = true));
      cache.set(endpoint, entry);
      return entry.health;
    },
  };
}

export type ProviderHealthReader = ReturnType<typeof createProviderHealth>;
