import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** How every key this gateway issues begins; the rest is 32 random bytes, base64url. */
export const API_KEY_PREFIX = "gk-";

/** What a key's public id looks like (`key_` and 16 hex digits); the id never reveals the key. */
export const API_KEY_ID = /^key_[0-9a-f]{16}$/;

/**
 * A new API key and its public id. The key is shown once; only {@link hashApiKey} of it is kept.
 *
 * @example const { id, key } = newApiKey(); // id "key_3f…", key "gk-Xq…"
 */
export function newApiKey(): { id: string; key: string } {
  return { id: `key_${randomBytes(8).toString("hex")}`, key: API_KEY_PREFIX + randomBytes(32).toString("base64url") };
}

/**
 * The SHA-256 of a key, hex. A key carries 256 random bits, so a fast hash is enough: there is no
 * password to guess, and a stolen database yields no key.
 */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Compares two hashes in time that does not depend on where they differ. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** A key as it may appear in an error: its start and end only. */
export function maskApiKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 5)}…${key.slice(-4)}` : "…";
}
