import sodium from "sodium-native";
import { envelopeInvalidError } from "./errors.ts";

/**
 * ChaCha20-Poly1305 (RFC 8439) on libsodium, as HPKE uses it (aead 0x0003). Internal to src/privacy.
 *
 * libsodium rather than node:crypto's createCipheriv: a sealed request takes eight AEAD calls (the
 * body, three response chunks, each sealed and opened), and for messages this short the cipher
 * object Node builds per call costs ~5 µs against ~0.7 µs for libsodium's one-shot call.
 */

/** Tag length (Nt). */
export const AEAD_TAG_LENGTH = 16;

/**
 * Seals `plaintext` and writes ciphertext || tag into `out` at `offset` (which must have room for
 * plaintext.length + 16 bytes), so callers can build a header and the ciphertext in one buffer.
 */
export function aeadSealInto(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
): void {
  const target = out.subarray(offset, offset + plaintext.length + AEAD_TAG_LENGTH);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(target, plaintext, aad.length > 0 ? aad : null, null, nonce, key);
}

/**
 * Opens ciphertext || tag. Throws the uniform `envelope_invalid` error on any failure. libsodium
 * checks the tag before it decrypts and writes zeros on failure, so no unauthenticated plaintext
 * ever exists.
 */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer {
  if (sealed.length < AEAD_TAG_LENGTH) throw envelopeInvalidError();
  const plaintext = Buffer.allocUnsafe(sealed.length - AEAD_TAG_LENGTH);
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plaintext, null, sealed, aad.length > 0 ? aad : null, nonce, key);
  } catch {
    throw envelopeInvalidError();
  }
  return plaintext;
}
