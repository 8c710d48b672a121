import { setupSenderTo } from "./hpke.ts";
import { getRecipientPublicKey } from "./recipientPublicKeyCache.ts";
import {
  REQUEST_ENVELOPE_HEADER_LENGTH,
  REQUEST_ENVELOPE_VERSION,
  requestEnvelopeAad,
} from "./requestEnvelope.ts";
import { AEAD_TAG_LENGTH } from "./aead.ts";
import { deriveResponseKeys, type ResponseKeys } from "./responseKeys.ts";

/** Options of {@link sealRequest}. */
export type SealRequestOptions = {
  /** Extra associated data, not sent: the provider must pass the same bytes to open. Default none. */
  aad?: Uint8Array;
};

/** A sealed request: the envelope to send, and the keys to open the provider's response stream. */
export type SealedRequest = { envelope: Uint8Array; responseKeys: ResponseKeys };

/**
 * Seals a request body to a provider's HPKE key so that only that provider can read it.
 *
 * Cost: one X25519 key generation and one DH, a few HMACs, one ChaCha20-Poly1305 pass.
 *
 * @param recipientPublicKey the provider's 32-byte X25519 public key, as registered on-chain
 * @param plaintext the request body
 * @param info the context both sides bind, from `createRequestInfo`
 * @returns the envelope (format in `requestEnvelope.ts`) and the response keys for `createStreamOpener`
 * @throws `hpke_public_key_invalid` for a key of the wrong length or a low-order point
 * @example
 * const { envelope, responseKeys } = sealRequest(providerKey, body, createRequestInfo({ chainId, provider }));
 */
export function sealRequest(
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  info: Uint8Array,
  options: SealRequestOptions = {},
): SealedRequest {
  const recipient = getRecipientPublicKey(recipientPublicKey);
  const context = setupSenderTo(recipient, info);
  const envelope = Buffer.allocUnsafe(REQUEST_ENVELOPE_HEADER_LENGTH + plaintext.length + AEAD_TAG_LENGTH);
  envelope[0] = REQUEST_ENVELOPE_VERSION;
  recipient.keyId.copy(envelope, 1);
  envelope.set(context.enc, 1 + recipient.keyId.length);
  const header = envelope.subarray(0, REQUEST_ENVELOPE_HEADER_LENGTH);
  context.sealInto(plaintext, requestEnvelopeAad(header, options.aad), envelope, REQUEST_ENVELOPE_HEADER_LENGTH);
  return { envelope, responseKeys: deriveResponseKeys(context) };
}
