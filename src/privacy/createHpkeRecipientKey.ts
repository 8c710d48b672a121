import type { KeyObject } from "node:crypto";
import { hpkeKeyId } from "./hpkeKeyId.ts";
import { X25519PrivateKey, type X25519KeyPair } from "./x25519.ts";

/** A recipient's long-term HPKE key, imported once: private key, public bytes and key id. */
export type HpkeRecipientKey = X25519KeyPair & {
  /** First 8 bytes of sha256(publicKey), as envelopes name the key they were sealed to. */
  readonly keyId: Uint8Array;
};

/**
 * Imports a recipient's X25519 private key once, so opening a request costs one DH and no key
 * parsing.
 *
 * @param privateKey 32 raw bytes, or an X25519 private KeyObject (as `loadOrCreateHpkeKey` returns)
 * @returns the key with its public key and key id
 * @throws `hpke_private_key_invalid` for the wrong length or key type
 * @example const key = createHpkeRecipientKey(loadOrCreateHpkeKey(home.keys, "provider").privateKey);
 */
export function createHpkeRecipientKey(privateKey: Uint8Array | KeyObject): HpkeRecipientKey {
  const key = privateKey instanceof Uint8Array ? X25519PrivateKey.fromBytes(privateKey) : X25519PrivateKey.fromKeyObject(privateKey);
  const publicKey = key.publicKey();
  return { privateKey: key, publicKey, keyId: hpkeKeyId(publicKey) };
}
