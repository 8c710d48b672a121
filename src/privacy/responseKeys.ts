import { hmacSha256 } from "./hmacSha256.ts";
import type { HpkeRecipientContext, HpkeSenderContext } from "./hpke.ts";

/**
 * What both ends of a request hold to seal and open its response stream, without a second key
 * exchange: `secret` = HPKE Export(request context, "gotong/v1 response", 32).
 *
 * It is not used as an AEAD key directly. Each stream's key and base nonce are derived from it
 * with a fresh salt the provider picks (see `streamFraming.ts`): a replayed envelope opens to the
 * same context, and without the salt two different responses to it would reuse key and nonces.
 */
export type ResponseKeys = { readonly secret: Uint8Array };

const RESPONSE_EXPORT_LABEL = Buffer.from("gotong/v1 response", "latin1");
const STREAM_KEYS_INFO = Buffer.from("gotong/v1 response stream", "latin1");
const ONE = Buffer.from([1]);
const TWO = Buffer.from([2]);

/** Exports the response secret from a request's HPKE context. Internal to src/privacy. */
export function deriveResponseKeys(context: HpkeSenderContext | HpkeRecipientContext): ResponseKeys {
  return { secret: context.export(RESPONSE_EXPORT_LABEL, 32) };
}

/**
 * key (32) || base_nonce (12) = HKDF-Expand(PRK = secret, info = "gotong/v1 response stream" || salt, L = 44).
 *
 * The secret is an HPKE export, already a uniformly random key, so it serves as the PRK directly
 * (RFC 5869 §3.3) and the salt goes into info: two HMACs, several times cheaper than hkdfSync here.
 * Internal to src/privacy.
 */
export function deriveStreamKeys(keys: ResponseKeys, salt: Uint8Array): { key: Buffer; baseNonce: Buffer } {
  const t1 = hmacSha256(keys.secret, [STREAM_KEYS_INFO, salt, ONE]);
  const t2 = hmacSha256(keys.secret, [t1, STREAM_KEYS_INFO, salt, TWO]);
  return { key: t1, baseNonce: t2.subarray(0, 12) };
}
