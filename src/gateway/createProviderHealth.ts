import { checkProtocolVersion, PROTOCOL_VERSION_HEADERS } from "../protocol/protocolVersion.ts";
import { HEADERS, PROTOCOL_VERSION } from "../protocol/wire.ts";
import type { Offer } from "./discoverOffers.ts";

/** What a provider's `GET /health` said: ready or not, and the checks that failed. */
export type ProviderHealth = { ready: boolean; failing: string[] };

/**
 * What the gateway knows of a provider now: `ready` (its /health said so), `not_ready` (it said it
 * is not), `unknown` (not asked yet, or it answered something else, or it has stopped answering
 * for less than `deadAfterMs` after answering before), `unanswered` (asked, and it has never
 * answered: an endpoint nobody has seen serve is never sent a request or a deposit), `dead` (no
 * answer at all for `deadAfterMs`: it is dropped from routing and from the models listed until it
 * answers again).
 */
export type ProviderStatus = "ready" | "not_ready" | "unknown" | "unanswered" | "dead";

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
  /**
   * How long a provider may go without answering its `/health` at all (refused, timed out) before
   * it is dead. Default 15 s; with probes every `probeIntervalMs` (see createHealthProber) a provider
   * that vanished is dropped within `deadAfterMs + probeIntervalMs + timeoutMs`.
   */
  deadAfterMs?: number;
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
/** How long "never answered" is reused before the endpoint is asked again. */
const UNANSWERED_TTL_MS = 1_000;

export function createProviderHealth(options: ProviderHealthOptions = {}) {
  const ttlMs = options.ttlMs ?? 5_000;
  const now = options.now ?? Date.now;
  const staleMs = options.staleMs ?? ttlMs * 3;
  const deadAfterMs = options.deadAfterMs ?? 15_000;
  /** Per endpoint: the last answer that arrived, since when it has answered nothing (undefined while it answers), and whether it ever answered. */
  const known = new Map<string, { health: ProviderHealth | undefined; silentSince?: number; answered: boolean }>();
  /** Per endpoint: when its answer was asked for, the answer, whether it has arrived, and a re-read under way. */
  const cache = new Map<string, { at: number; health: Promise<ProviderHealth | undefined>; settled: boolean; next?: Promise<void> }>();

  /** Reads `/health` and records whether the provider answered at all (for `statusOf`). */
  const read = async (endpoint: string): Promise<ProviderHealth | undefined> => {
    const answer = await ask(endpoint);
    const before = known.get(endpoint);
    known.set(endpoint, answer === UNREACHABLE ? { health: undefined, silentSince: before?.silentSince ?? now(), answered: before?.answered ?? false } : { health: answer, answered: true });
    return answer === UNREACHABLE ? undefined : answer;
  };
  const ask = async (endpoint: string): Promise<ProviderHealth | undefined | typeof UNREACHABLE> => {
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
      return UNREACHABLE;
    }
  };

  return {
    /** What `offer`'s provider says of its readiness, or undefined when it does not say. */
    of(offer: Offer): Promise<ProviderHealth | undefined> {
      const { endpoint } = offer;
      const hit = cache.get(endpoint);
      const age = hit ? now() - hit.at : Infinity;
      // An endpoint that has never answered is asked again soon (behind the requests, below): a
      // provider that starts after the gateway is used about a second after it first answers.
      const k = known.get(endpoint);
      const fresh = k && !k.answered ? Math.min(ttlMs, UNANSWERED_TTL_MS) : ttlMs;
      if (hit && age < fresh) return hit.health;
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
    /** Asks `offer`'s provider now, whatever is cached (the prober's call), and keeps the answer for `of`. */
    async probe(offer: Offer): Promise<ProviderHealth | undefined> {
      const health = await read(offer.endpoint);
      cache.set(offer.endpoint, { at: now(), health: Promise.resolve(health), settled: true });
      return health;
    },
    /** What is known of `offer`'s provider from the answers so far, without asking (see ProviderStatus). */
    statusOf(offer: Offer): ProviderStatus {
      const k = known.get(offer.endpoint);
      if (!k) return "unknown";
      if (k.silentSince !== undefined) return now() - k.silentSince >= deadAfterMs ? "dead" : k.answered ? "unknown" : "unanswered";
      return k.health === undefined ? "unknown" : k.health.ready ? "ready" : "not_ready";
    },
    /** How long `offer`'s provider has answered nothing, in ms (undefined while it answers). */
    silentFor(offer: Offer): number | undefined {
      const since = known.get(offer.endpoint)?.silentSince;
      return since === undefined ? undefined : now() - since;
    },
  };
}

export type ProviderHealthReader = ReturnType<typeof createProviderHealth>;

/** A provider that gave no HTTP answer at all (refused, reset, timed out). */
const UNREACHABLE = Symbol("unreachable");
