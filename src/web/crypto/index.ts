/** Browser end-to-end encryption: seal a request to a provider, open its sealed answer. */
export { sealRequest, type ResponseKeys, type SealedRequest, REQUEST_ENVELOPE_VERSION, HPKE_KEY_ID_LENGTH } from "./sealRequest.ts";
export { createRequestInfo } from "./createRequestInfo.ts";
export { createStreamOpener, decodeSseFrame, type OpenedChunk, type StreamOpener } from "./createStreamOpener.ts";
export { setupBaseS, type HpkeSender } from "./hpke.ts";
export * from "./bytes.ts";
