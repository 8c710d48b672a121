import type { HpkeKeyRing } from "./createHpkeKeyRing.ts";
import type { HpkeRecipientKey } from "./createHpkeRecipientKey.ts";
import { envelopeInvalidError } from "./errors.ts";
import { setupRecipient } from "./hpke.ts";
import { parseRequestEnvelope, requestEnvelopeAad } from "./requestEnvelope.ts";
import { deriveResponseKeys, type ResponseKeys } from "./responseKeys.ts";

/** Options of {@link openRequest}. */
export type OpenRequestOptions = {
  /** The same extra associated data the client sealed with. Default none. */
  aad?: Uint8Array;
};

/** An opened request: its body, and the keys to seal the response stream with (`createStreamSealer`). */
export type OpenedRequest = { plaintext: Uint8Array; responseKeys: ResponseKeys; keyId: Uint8Array };

/**
 * Opens a request envelope with the provider's key, or the key of a ring that the envelope's key
 * id names.
 *
 * Every failure (unknown key id, bad version or length, bad `enc` or low-order point, wrong `info`
 * or AAD, any altered byte) is the same `envelope_invalid` error (400), and no plaintext is
 * returned unless the whole envelope authenticated.
 *
 * @param recipient the provider's key (`createHpkeRecipientKey`) or key ring (`createHpkeKeyRing`)
 * @param envelope the envelope from `sealRequest`
 * @param info the same context the client bound, from `createRequestInfo`
 * @example
 * const { plaintext, responseKeys } = openRequest(ring, envelope, createRequestInfo({ chainId, provider }));
 */
export function openRequest(
  recipient: HpkeRecipientKey | HpkeKeyRing,
  envelope: Uint8Array,
  info: Uint8Array,
  options: OpenRequestOptions = {},
): OpenedRequest {
  const { header, keyId, enc, ciphertext } = parseRequestEnvelope(envelope);
  const key = "find" in recipient ? recipient.find(keyId) : Buffer.compare(recipient.keyId, keyId) === 0 ? recipient : undefined;
  if (key === undefined) throw envelopeInvalidError();
  try {
    const context = setupRecipient(enc, key, info);
    const plaintext = context.open(ciphertext, requestEnvelopeAad(header, options.aad));
    return { plaintext, responseKeys: deriveResponseKeys(context), keyId: Buffer.from(keyId) };
  } catch {
    // One answer whatever went wrong, so the error is no oracle on the key or the ciphertext.
    throw envelopeInvalidError();
  }
}
