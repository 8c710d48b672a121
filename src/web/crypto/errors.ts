import { GotongError } from "../../common/errors.ts";

/**
 * The browser's errors for sealed traffic. They carry the same codes and messages as
 * `src/privacy/errors.ts` (which needs node:crypto through its neighbours, so it is not imported
 * here): a page and a Node client report a broken stream the same way.
 */

/** The one uniform error for a sealed message or chunk that does not open (`envelope_invalid`). */
export function envelopeInvalidError(): GotongError {
  return new GotongError("The sealed message could not be opened.", {
    code: "envelope_invalid",
    hint: "It was sealed to another key or for another context, or altered in transit. Fetch the provider's current HPKE key and send the request again.",
    status: 400,
  });
}

/** A provider public key that cannot be used: wrong length, or a low-order point. */
export function hpkePublicKeyInvalidError(reason: string): GotongError {
  return new GotongError(`The HPKE public key is invalid: ${reason}.`, {
    code: "hpke_public_key_invalid",
    hint: "Use the provider's 32-byte X25519 public key exactly as it is registered on-chain.",
    status: 400,
  });
}

/** A sealed chunk out of its place: reordered, dropped, replayed or duplicated. */
export function streamOutOfOrderError(received: number, expected: number): GotongError {
  const what = received < expected ? "replayed or duplicated" : "reordered, or an earlier chunk was dropped";
  return new GotongError(`Sealed response chunk ${received} arrived where chunk ${expected} was expected (${what}).`, {
    code: "stream_out_of_order",
    hint: "The response stream was tampered with or broken in transit; discard it and retry the request.",
    status: 502,
  });
}

/** The sealed stream ended before its sealed final chunk. */
export function streamTruncatedError(): GotongError {
  return new GotongError("The sealed response stream ended without its final chunk.", {
    code: "stream_truncated",
    hint: "The response was cut off in transit; treat what arrived as incomplete and retry the request.",
    status: 502,
  });
}

/** A chunk arrived after the sealed final chunk. */
export function streamAfterFinalError(): GotongError {
  return new GotongError("A sealed response chunk arrived after the final chunk.", {
    code: "stream_after_final",
    hint: "The response stream was tampered with; discard anything after the final chunk.",
    status: 502,
  });
}
