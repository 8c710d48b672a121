import sodium from "sodium-native";
import { AEAD_TAG_LENGTH, aeadSealInto } from "./aead.ts";
import { hpkeArgumentInvalidError, streamExhaustedError, streamFinishedError } from "./errors.ts";
import { deriveStreamKeys, type ResponseKeys } from "./responseKeys.ts";
import { STREAM_FIRST_HEADER_LENGTH, STREAM_FLAG_FINAL, STREAM_HEADER_LENGTH, STREAM_MAX_CHUNKS, STREAM_SALT_LENGTH } from "./streamFraming.ts";

/** Seals a response as a stream of chunks only the client can open (format in `streamFraming.ts`). */
export interface StreamSealer {
  /**
   * Seals the next chunk and returns its frame. The chunk index is taken synchronously before any
   * work, so concurrent callers never share a nonce. Seal the last chunk with `{ final: true }`
   * (it may be empty); nothing can be sealed after it.
   *
   * @throws `stream_finished` after the final chunk, `stream_exhausted` past `maxChunks`
   */
  seal(chunk: Uint8Array, options?: { final?: boolean }): Uint8Array;
  /** Chunks sealed so far, which is the index of the next one. */
  readonly chunks: number;
  /** Whether the final chunk has been sealed. */
  readonly finished: boolean;
}

/** Options of {@link createStreamSealer}. */
export type StreamSealerOptions = {
  /** Most chunks this stream may seal. Default and maximum 2^32 (the index is a uint32). */
  maxChunks?: number;
};

/**
 * Starts a sealed response stream, on the provider's side, with the keys `openRequest` returned.
 * Each stream draws its own salt, so even a replayed request never reuses a key and nonce.
 *
 * @param responseKeys from `openRequest`
 * @example
 * const sealer = createStreamSealer(responseKeys);
 * res.write(encodeSseFrame(sealer.seal(encoder.encode(token))));
 * res.end(encodeSseFrame(sealer.seal(new Uint8Array(), { final: true })));
 */
export function createStreamSealer(responseKeys: ResponseKeys, options: StreamSealerOptions = {}): StreamSealer {
  const maxChunks = options.maxChunks ?? STREAM_MAX_CHUNKS;
  if (!Number.isInteger(maxChunks) || maxChunks < 1 || maxChunks > STREAM_MAX_CHUNKS) {
    throw hpkeArgumentInvalidError(`maxChunks must be an integer from 1 to ${STREAM_MAX_CHUNKS}, got ${maxChunks}.`);
  }
  const salt = Buffer.allocUnsafe(STREAM_SALT_LENGTH);
  sodium.randombytes_buf(salt); // the system CSPRNG, as node:crypto's, without its per-call overhead
  const { key, baseNonce } = deriveStreamKeys(responseKeys, salt);
  const nonce = Buffer.from(baseNonce); // scratch: only bytes 8–11 change
  const baseLo = nonce.readUInt32BE(8);
  let next = 0;
  let finished = false;
  return {
    seal(chunk, { final = false } = {}) {
      if (finished) throw streamFinishedError();
      if (next >= maxChunks) throw streamExhaustedError(maxChunks);
      const index = next++;
      if (final) finished = true;
      const headerLength = index === 0 ? STREAM_FIRST_HEADER_LENGTH : STREAM_HEADER_LENGTH;
      const frame = Buffer.allocUnsafe(headerLength + chunk.length + AEAD_TAG_LENGTH);
      frame[0] = final ? STREAM_FLAG_FINAL : 0;
      frame.writeUInt32BE(index, 1);
      if (index === 0) salt.copy(frame, STREAM_HEADER_LENGTH);
      nonce.writeUInt32BE((baseLo ^ index) >>> 0, 8);
      aeadSealInto(key, nonce, frame.subarray(0, headerLength), chunk, frame, headerLength);
      return frame;
    },
    get chunks() {
      return next;
    },
    get finished() {
      return finished;
    },
  };
}
