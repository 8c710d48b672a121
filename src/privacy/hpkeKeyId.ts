import { createHash } from "node:crypto";

/** Length of an HPKE key id in an envelope header. */
export const HPKE_KEY_ID_LENGTH = 8;

/**
 * The key id of an HPKE public key: the first 8 bytes of its sha256. An envelope carries it so a
 * provider holding several keys (during a rotation) knows which one to open it with.
 *
 * @example hpkeKeyId(provider.publicKey) // Uint8Array(8)
 */
export function hpkeKeyId(publicKey: Uint8Array): Buffer {
  return createHash("sha256").update(publicKey).digest().subarray(0, HPKE_KEY_ID_LENGTH);
}
