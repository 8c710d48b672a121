import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8 } from "./bytes.ts";
import { setupBaseS, type SetupOptions } from "./hpke.ts";

/** Version byte of a request envelope (see `src/privacy/requestEnvelope.ts`). */
export const REQUEST_ENVELOPE_VERSION = 0x01;
/** Length of an HPKE key id: the first 8 bytes of sha256(public key). */
export const HPKE_KEY_ID_LENGTH = 8;

const RESPONSE_EXPORT_LABEL = utf8("gotong/v1 response");

/** What both ends hold to seal and open the response stream: HPKE Export(ctx, "gotong/v1 response", 32). */
export type ResponseKeys = { readonly secret: Uint8Array };

/** A sealed request: the envelope to send, and the keys to open the answer with. */
export type SealedRequest = { envelope: Uint8Array; responseKeys: ResponseKeys };

/**
 * Seals a request body to a provider's HPKE key, in the browser: the same envelope as
 * `src/privacy/sealRequest.ts`, `0x01 || keyId(8) || enc(32) || ciphertext || tag`, with
 * AAD = header || `aad`.
 *
 * @param recipientPublicKey the provider's 32-byte X25519 key, as registered on-chain
 * @param plaintext the request body (the OpenAI JSON)
 * @param info from `createRequestInfo`
 * @param options.aad extra associated data not sent (Gotong binds the request id)
 * @example const { envelope, responseKeys } = sealRequest(key, body, info, { aad: requestIdBytes });
 */
export function sealRequest(
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  info: Uint8Array,
  options: { aad?: Uint8Array } & SetupOptions = {},
): SealedRequest {
  const context = setupBaseS(recipientPublicKey, info, options);
  const keyId = sha256(recipientPublicKey).subarray(0, HPKE_KEY_ID_LENGTH);
  const header = concatBytes(new Uint8Array([REQUEST_ENVELOPE_VERSION]), keyId, context.enc);
  const aad = options.aad && options.aad.length > 0 ? concatBytes(header, options.aad) : header;
  const envelope = concatBytes(header, context.seal(plaintext, aad));
  return { envelope, responseKeys: { secret: context.export(RESPONSE_EXPORT_LABEL, 32) } };
}
