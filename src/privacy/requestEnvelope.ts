import { envelopeInvalidError } from "./errors.ts";
import { AEAD_TAG_LENGTH } from "./aead.ts";
import { HPKE_ENC_LENGTH } from "./hpke.ts";
import { HPKE_KEY_ID_LENGTH } from "./hpkeKeyId.ts";

/**
 * The request envelope: a prompt sealed with HPKE to one provider's key.
 *
 *   offset  size   field
 *   0       1      version = 0x01 (suite DHKEM(X25519, HKDF-SHA256) · HKDF-SHA256 · ChaCha20-Poly1305, base mode)
 *   1       8      key id = sha256(recipient public key)[0..8]
 *   9       32     enc, the sender's ephemeral X25519 public key
 *   41      n+16   ciphertext || tag = Seal at sequence 0 of the plaintext (n bytes)
 *
 * AAD = bytes 0..41 (the header) || the caller's optional extra AAD, so the header cannot be
 * altered or swapped; `info` (e.g. from `createRequestInfo`) binds the chain and provider.
 * Version 1 envelopes hold exactly one message; the response travels back as a sealed stream
 * keyed from the same HPKE context (see `streamFraming.ts`).
 */
export const REQUEST_ENVELOPE_VERSION = 0x01;
/** Length of the envelope header: version, key id, enc. */
export const REQUEST_ENVELOPE_HEADER_LENGTH = 1 + HPKE_KEY_ID_LENGTH + HPKE_ENC_LENGTH;
/** Shortest valid envelope: a header and the tag of an empty plaintext. */
export const REQUEST_ENVELOPE_MIN_LENGTH = REQUEST_ENVELOPE_HEADER_LENGTH + AEAD_TAG_LENGTH;

/** The parts of an envelope (views into it). */
export type RequestEnvelopeParts = { header: Uint8Array; keyId: Uint8Array; enc: Uint8Array; ciphertext: Uint8Array };

/** Splits an envelope into its parts; anything malformed is the uniform `envelope_invalid`. */
export function parseRequestEnvelope(envelope: Uint8Array): RequestEnvelopeParts {
  if (!(envelope instanceof Uint8Array) || envelope.length < REQUEST_ENVELOPE_MIN_LENGTH || envelope[0] !== REQUEST_ENVELOPE_VERSION) {
    throw envelopeInvalidError();
  }
  return {
    header: envelope.subarray(0, REQUEST_ENVELOPE_HEADER_LENGTH),
    keyId: envelope.subarray(1, 1 + HPKE_KEY_ID_LENGTH),
    enc: envelope.subarray(1 + HPKE_KEY_ID_LENGTH, REQUEST_ENVELOPE_HEADER_LENGTH),
    ciphertext: envelope.subarray(REQUEST_ENVELOPE_HEADER_LENGTH),
  };
}

/** The AAD of an envelope: its header, then the caller's extra AAD if any. */
export function requestEnvelopeAad(header: Uint8Array, aad: Uint8Array | undefined): Uint8Array {
  return aad === undefined || aad.length === 0 ? header : Buffer.concat([header, aad]);
}
