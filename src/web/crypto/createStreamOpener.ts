import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { expand } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { createFrameOpener, type StreamOpener } from "../../privacy/createFrameOpener.ts";
import { concatBytes, fromBase64url, utf8 } from "./bytes.ts";
import { envelopeInvalidError } from "./errors.ts";
import { computeNonce } from "./hpke.ts";
import type { ResponseKeys } from "./sealRequest.ts";

const STREAM_KEYS_INFO = utf8("gotong/v1 response stream");

/**
 * Starts opening a sealed response stream with the keys `sealRequest` returned: key || base_nonce
 * = HKDF-Expand(secret, "gotong/v1 response stream" || salt, 44), nonce = base_nonce XOR index,
 * AAD = the frame's header. The frame checks and the stream's state are `src/privacy`'s own.
 *
 * @example const opener = createStreamOpener(responseKeys); opener.open(decodeSseFrame(data));
 */
export function createStreamOpener(responseKeys: ResponseKeys): StreamOpener {
  return createFrameOpener((salt) => {
    const okm = expand(sha256, responseKeys.secret, concatBytes(STREAM_KEYS_INFO, salt), 44);
    const key = okm.subarray(0, 32);
    const baseNonce = okm.subarray(32, 44);
    return (index, header, sealed) => chacha20poly1305(key, computeNonce(baseNonce, index), header).decrypt(sealed);
  });
}

/**
 * The frame in an SSE `data:` value: strict unpadded base64url, surrounding whitespace ignored;
 * anything else is the uniform `envelope_invalid`.
 */
export function decodeSseFrame(data: string): Uint8Array {
  const bytes = fromBase64url(data.trim());
  if (bytes === undefined) throw envelopeInvalidError();
  return bytes;
}
