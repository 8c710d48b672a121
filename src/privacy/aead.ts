import { createCipheriv, createDecipheriv } from "node:crypto";
import { envelopeInvalidError } from "./errors.ts";

/** ChaCha20-Poly1305 (RFC 8439) on node:crypto, as HPKE uses it (aead 0x0003). Internal to src/privacy. */

/** Key length (Nk). */
export const AEAD_KEY_LENGTH = 32;
/** Nonce length (Nn). */
export const AEAD_NONCE_LENGTH = 12;
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
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  if (aad.length > 0) cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  out.set(body, offset);
  const rest = cipher.final();
  if (rest.length > 0) out.set(rest, offset + body.length);
  out.set(cipher.getAuthTag(), offset + plaintext.length);
}

/** Seals `plaintext`, returning ciphertext || tag. */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + AEAD_TAG_LENGTH);
  aeadSealInto(key, nonce, aad, plaintext, out, 0);
  return out;
}

/**
 * Opens ciphertext || tag. Throws the uniform `envelope_invalid` error on any failure, and never
 * lets plaintext out before the tag has been checked: Node's decipher hands out plaintext from
 * update() before final() verifies, so that buffer is wiped when verification fails.
 */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer {
  if (sealed.length < AEAD_TAG_LENGTH) throw envelopeInvalidError();
  const split = sealed.length - AEAD_TAG_LENGTH;
  let plaintext: Buffer | undefined;
  try {
    const decipher = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_LENGTH });
    decipher.setAuthTag(sealed.subarray(split));
    if (aad.length > 0) decipher.setAAD(aad, { plaintextLength: split });
    plaintext = decipher.update(sealed.subarray(0, split));
    decipher.final();
    return plaintext;
  } catch {
    plaintext?.fill(0);
    throw envelopeInvalidError();
  }
}
