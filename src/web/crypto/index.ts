/** Browser end-to-end encryption: seal a request to a provider, open its sealed answer. */
export { sealRequest, type ResponseKeys, type SealedRequest, REQUEST_ENVELOPE_VERSION, HPKE_KEY_ID_LENGTH } from "./sealRequest.ts";
// Crypto-free modules of src/privacy the page bundles as they are, so both sides share one definition.
export { createRequestInfo } from "../../privacy/createRequestInfo.ts";
export type { OpenedChunk, StreamOpener } from "../../privacy/createFrameOpener.ts";
export { createStreamOpener, decodeSseFrame } from "./createStreamOpener.ts";
export { setupBaseS, type HpkeSender } from "./hpke.ts";
export * from "./bytes.ts";
