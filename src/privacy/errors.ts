import { GotongError } from "../common/errors.ts";

export { privacyErrorCodes, type PrivacyErrorCode } from "../protocol/errorCodes.ts";

/**
 * Errors of the privacy layer (HPKE, request envelopes, sealed response streams).
 *
 * Two families, on purpose:
 * - Anything that depends on secret material or on attacker-shaped ciphertext (a bad tag, a bad
 *   encapsulated key, an unknown key id, a malformed envelope or chunk) is one error,
 *   {@link envelopeInvalidError}: same code, message, hint and status whatever failed, and no
 *   cause attached, so it cannot become an oracle.
 * - The caller's own misuse (a key of the wrong length, an exhausted sequence number, sealing after
 *   the final chunk) gets a distinct, specific error, since it reveals nothing an attacker controls.
 */

const ENVELOPE_INVALID_MESSAGE = "The sealed message could not be opened.";
const ENVELOPE_INVALID_HINT =
  "It was sealed to another key or for another context, or altered in transit. Fetch the provider's current HPKE key and send the request again.";

/** The one uniform error for any failure to open a sealed envelope or chunk (400, `envelope_invalid`). */
export function envelopeInvalidError(): GotongError {
  return new GotongError(ENVELOPE_INVALID_MESSAGE, { code: "envelope_invalid", hint: ENVELOPE_INVALID_HINT, status: 400 });
}

/** A recipient public key that cannot be used: wrong length, or a low-order point (RFC 9180 §7.1.4). */
export function hpkePublicKeyInvalidError(reason: string): GotongError {
  return new GotongError(`The HPKE public key is invalid: ${reason}.`, {
    code: "hpke_public_key_invalid",
    hint: "Use the provider's 32-byte X25519 public key exactly as it is registered on-chain.",
    status: 400,
  });
}

/** A private key that cannot be used: wrong length or not an X25519 private key. */
export function hpkePrivateKeyInvalidError(reason: string): GotongError {
  return new GotongError(`The HPKE private key is invalid: ${reason}.`, {
    code: "hpke_private_key_invalid",
    hint: "Use a 32-byte X25519 private key, such as the one in keys/<role>-hpke.pem.",
    status: 500,
  });
}

/** A caller argument outside what RFC 9180 allows (an export length, an encapsulated key length). */
export function hpkeArgumentInvalidError(message: string): GotongError {
  return new GotongError(message, { code: "hpke_argument_invalid", status: 500 });
}

/** The HPKE sequence number reached its maximum: sealing again would reuse a nonce. */
export function hpkeSequenceExhaustedError(): GotongError {
  return new GotongError("This HPKE context has used every sequence number it may use.", {
    code: "hpke_sequence_exhausted",
    hint: "Set up a new HPKE context; a sequence number is never allowed to wrap around.",
    status: 500,
  });
}

/** A sealed response chunk arrived out of its place: reordered, dropped, replayed or duplicated. */
export function streamOutOfOrderError(received: number, expected: number): GotongError {
  const what = received < expected ? "replayed or duplicated" : "reordered, or an earlier chunk was dropped";
  return new GotongError(`Sealed response chunk ${received} arrived where chunk ${expected} was expected (${what}).`, {
    code: "stream_out_of_order",
    hint: "The response stream was tampered with or broken in transit; discard it and retry the request.",
    status: 502,
  });
}

/** The sealed response stream ended before its sealed final chunk: it was truncated. */
export function streamTruncatedError(): GotongError {
  return new GotongError("The sealed response stream ended without its final chunk.", {
    code: "stream_truncated",
    hint: "The response was cut off in transit; treat what arrived as incomplete and retry the request.",
    status: 502,
  });
}

/** A chunk arrived after the sealed final chunk of a response stream. */
export function streamAfterFinalError(): GotongError {
  return new GotongError("A sealed response chunk arrived after the final chunk.", {
    code: "stream_after_final",
    hint: "The response stream was tampered with; discard anything after the final chunk.",
    status: 502,
  });
}

/** A binary stream frame announced a length beyond the reader's limit. */
export function streamFrameTooLargeError(length: number, limit: number): GotongError {
  return new GotongError(`A sealed response frame of ${length} bytes is over the limit of ${limit} bytes.`, {
    code: "stream_frame_too_large",
    hint: "Seal the response in smaller chunks, or raise maxFrameBytes on the reader.",
    status: 502,
  });
}

/** The caller tried to seal after the final chunk of its stream. */
export function streamFinishedError(): GotongError {
  return new GotongError("This sealed response stream is already finished.", {
    code: "stream_finished",
    hint: "Seal the last piece of the response with { final: true } once, and nothing after it.",
    status: 500,
  });
}

/** The stream sealer reached its chunk limit: sealing again would reuse a nonce. */
export function streamExhaustedError(limit: number): GotongError {
  return new GotongError(`This sealed response stream has used all ${limit} chunks it may seal.`, {
    code: "stream_exhausted",
    hint: "Seal larger chunks; a chunk counter is never allowed to wrap around.",
    status: 500,
  });
}
