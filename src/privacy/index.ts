/** Privacy: HPKE (RFC 9180) request envelopes and sealed response streams between clients and providers. */
export {
  computeNonce,
  decap,
  deriveKeyPair,
  encap,
  keyScheduleBase,
  setupBaseR,
  setupBaseS,
  HPKE_AEAD_ID,
  HPKE_ENC_LENGTH,
  HPKE_KDF_ID,
  HPKE_KEM_ID,
  HPKE_MAX_EXPORT_LENGTH,
  HPKE_MAX_SEQUENCE,
  type HpkeContextOptions,
  type HpkeKeySchedule,
  type HpkeRecipientContext,
  type HpkeSenderContext,
  type HpkeSenderOptions,
} from "./hpke.ts";
export { X25519PrivateKey, type X25519KeyPair } from "./x25519.ts";
export { hpkeKeyId, HPKE_KEY_ID_LENGTH } from "./hpkeKeyId.ts";
export { createHpkeRecipientKey, type HpkeRecipientKey } from "./createHpkeRecipientKey.ts";
export {
  createHpkeKeyRing,
  DEFAULT_HPKE_KEY_GRACE_MS,
  type HpkeKeyRing,
  type HpkeKeyRingOptions,
  type RetiredHpkeKey,
} from "./createHpkeKeyRing.ts";
export { createRequestInfo, type RequestInfoParameters } from "./createRequestInfo.ts";
export {
  parseRequestEnvelope,
  REQUEST_ENVELOPE_HEADER_LENGTH,
  REQUEST_ENVELOPE_MIN_LENGTH,
  REQUEST_ENVELOPE_VERSION,
  type RequestEnvelopeParts,
} from "./requestEnvelope.ts";
export { sealRequest, type SealedRequest, type SealRequestOptions } from "./sealRequest.ts";
export { openRequest, type OpenedRequest, type OpenRequestOptions } from "./openRequest.ts";
export type { ResponseKeys } from "./responseKeys.ts";
export { createStreamSealer, type StreamSealer, type StreamSealerOptions } from "./createStreamSealer.ts";
export { createStreamOpener } from "./createStreamOpener.ts";
export type { OpenedChunk, StreamOpener } from "./createFrameOpener.ts";
export {
  createBinaryFrameReader,
  decodeSseFrame,
  encodeBinaryFrame,
  encodeSseFrame,
  DEFAULT_MAX_FRAME_BYTES,
  STREAM_MAX_CHUNKS,
  type BinaryFrameReader,
} from "./streamFraming.ts";
export {
  hpkeKeyPath,
  loadHpkeKeyRing,
  loadOrCreateHpkeKey,
  previousHpkeKeyPath,
  rotateHpkeKey,
  type HpkeKeyPair,
} from "./loadOrCreateHpkeKey.ts";
