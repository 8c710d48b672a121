import type { HpkeRecipientKey } from "./createHpkeRecipientKey.ts";

/** How long a retired key still opens requests by default: one hour, for in-flight requests and clients with a cached key. */
export const DEFAULT_HPKE_KEY_GRACE_MS = 60 * 60 * 1000;

/** A key taken out of service at `retiredAt` (ms since the epoch), kept for a grace period. */
export type RetiredHpkeKey = { key: HpkeRecipientKey; retiredAt: number };

/** The keys a provider opens requests with: the current one, and retired ones within their grace period. */
export type HpkeKeyRing = {
  /** The key clients should seal to (the one registered on-chain). */
  readonly current: HpkeRecipientKey;
  /** Retired keys, still accepted until `retiredAt + graceMs`. */
  readonly previous: readonly RetiredHpkeKey[];
  /** The key with this key id, if it is current or still in its grace period. */
  find(keyId: Uint8Array): HpkeRecipientKey | undefined;
};

/** Options of {@link createHpkeKeyRing}. */
export type HpkeKeyRingOptions = {
  /** How long a retired key keeps opening requests. Default {@link DEFAULT_HPKE_KEY_GRACE_MS}. */
  graceMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
};

/**
 * Builds a key ring for `openRequest`, which picks the key named by the envelope's key id.
 *
 * @param current the key in service
 * @param previous retired keys with the time they were retired
 * @example
 * const ring = createHpkeKeyRing(createHpkeRecipientKey(next), [{ key: old, retiredAt: Date.now() }]);
 * openRequest(ring, envelope, info);
 */
export function createHpkeKeyRing(
  current: HpkeRecipientKey,
  previous: readonly RetiredHpkeKey[] = [],
  options: HpkeKeyRingOptions = {},
): HpkeKeyRing {
  const graceMs = options.graceMs ?? DEFAULT_HPKE_KEY_GRACE_MS;
  const now = options.now ?? Date.now;
  return {
    current,
    previous,
    find(keyId) {
      if (sameId(current.keyId, keyId)) return current;
      for (const retired of previous) {
        if (sameId(retired.key.keyId, keyId)) return now() - retired.retiredAt < graceMs ? retired.key : undefined;
      }
      return undefined;
    },
  };
}

// Key ids are public (they are in every envelope), so a plain comparison is fine.
function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}
