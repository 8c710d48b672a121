import type { CheckProviderKeyOptions, KeyCheck } from "./checkProviderKey.ts";

/**
 * How long a key the chain confirmed is trusted without asking the chain again, in milliseconds.
 * Asking before every message would add two RPC round trips to each one. A provider that rotates
 * its key (`gotong provider rotate-key`) keeps opening requests sealed to the old one for an hour,
 * so a key confirmed less than this long ago is still one the provider holds; a new key the gateway
 * hands over is another entry, checked at once.
 */
export const KEY_CHECK_TTL_MS = 5 * 60_000;

/** A checker that remembers the keys the chain confirmed (see {@link createKeyCheckCache}). */
export type KeyCheckCache = {
  /** The check of `options`: remembered when the chain confirmed this very key lately, else asked afresh. */
  check(options: CheckProviderKeyOptions): Promise<KeyCheck>;
};

/**
 * Wraps a key check (trust/checkProviderKey.ts) so a provider's key is read from the chain once per
 * {@link KEY_CHECK_TTL_MS}, not before every message. Only matches are remembered, each under
 * everything the answer depends on (RPC, chain, registry, provider and the key handed over): a
 * mismatch, an unreachable RPC or a stopped check is asked again next time.
 *
 * @example const keys = createKeyCheckCache(checkProviderKey); await keys.check({ rpc, chainId, registry, provider, gatewayKey });
 */
export function createKeyCheckCache(
  checkKey: (options: CheckProviderKeyOptions) => Promise<KeyCheck>,
  options: { ttlMs?: number; now?: () => number } = {},
): KeyCheckCache {
  const ttlMs = options.ttlMs ?? KEY_CHECK_TTL_MS;
  const now = options.now ?? Date.now;
  const confirmed = new Map<string, { check: KeyCheck; until: number }>();
  return {
    async check(o) {
      const key = [o.rpc ?? "", o.chainId, o.registry.toLowerCase(), o.provider.toLowerCase(), o.gatewayKey.toLowerCase()].join("|");
      const hit = confirmed.get(key);
      if (hit && now() < hit.until) return hit.check;
      confirmed.delete(key);
      const check = await checkKey(o);
      confirmed.set(key, { check, until: now() + ttlMs });
      return check;
    },
  };
}
