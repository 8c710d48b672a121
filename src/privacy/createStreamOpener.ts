import { aeadOpen } from "./aead.ts";
import { createFrameOpener, type StreamOpener } from "./createFrameOpener.ts";
import { deriveStreamKeys, type ResponseKeys } from "./responseKeys.ts";

/**
 * Starts opening a sealed response stream with the keys `sealRequest` returned.
 *
 * @param responseKeys from `sealRequest`
 * @example
 * const opener = createStreamOpener(responseKeys);
 * for (const data of sseDataValues) process(opener.open(decodeSseFrame(data)).plaintext);
 * opener.end(); // throws if the stream was cut short
 */
export function createStreamOpener(responseKeys: ResponseKeys): StreamOpener {
  return createFrameOpener((salt) => {
    const { key, baseNonce } = deriveStreamKeys(responseKeys, salt);
    const nonce = Buffer.from(baseNonce); // scratch: only bytes 8–11 change
    const baseLo = nonce.readUInt32BE(8);
    return (index, header, sealed) => {
      nonce.writeUInt32BE((baseLo ^ index) >>> 0, 8);
      return aeadOpen(key, nonce, header, sealed);
    };
  });
}
