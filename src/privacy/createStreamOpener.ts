import type { GotongError } from "../common/errors.ts";
import { AEAD_TAG_LENGTH, aeadOpen } from "./aead.ts";
import { envelopeInvalidError, streamAfterFinalError, streamOutOfOrderError, streamTruncatedError } from "./errors.ts";
import { deriveStreamKeys, type ResponseKeys } from "./responseKeys.ts";
import { STREAM_FIRST_HEADER_LENGTH, STREAM_FLAG_FINAL, STREAM_HEADER_LENGTH } from "./streamFraming.ts";

/** An opened chunk of a sealed response stream. */
export type OpenedChunk = { plaintext: Uint8Array; final: boolean };

/** Opens a sealed response stream, on the client's side, chunk by chunk in order. */
export interface StreamOpener {
  /**
   * Opens the next frame. Throws `stream_out_of_order` for a chunk out of its place (reordered,
   * dropped, replayed, duplicated), `stream_after_final` after the final chunk, and the uniform
   * `envelope_invalid` for anything that does not authenticate (altered, from another stream).
   * After any error the opener stays failed: every later call throws the same error.
   */
  open(frame: Uint8Array): OpenedChunk;
  /** Declares the stream over; throws `stream_truncated` unless the final chunk was opened. */
  end(): void;
  /** Chunks opened so far, which is the index expected next. */
  readonly chunks: number;
  /** Whether the final chunk has been opened. */
  readonly finished: boolean;
}

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
  let keys: { key: Buffer; baseNonce: Buffer } | undefined;
  let nonce: Buffer | undefined;
  let baseLo = 0;
  let expected = 0;
  let finished = false;
  let failure: GotongError | undefined;
  const fail = (error: GotongError): never => {
    failure = error;
    throw error;
  };
  return {
    open(frame) {
      if (failure) throw failure;
      if (finished) fail(streamAfterFinalError());
      if (!(frame instanceof Uint8Array) || frame.length < STREAM_HEADER_LENGTH + AEAD_TAG_LENGTH) fail(envelopeInvalidError());
      const flags = frame[0]!;
      if (flags !== 0 && flags !== STREAM_FLAG_FINAL) fail(envelopeInvalidError());
      const index = ((frame[1]! << 24) | (frame[2]! << 16) | (frame[3]! << 8) | frame[4]!) >>> 0;
      if (index !== expected) fail(streamOutOfOrderError(index, expected));
      const headerLength = index === 0 ? STREAM_FIRST_HEADER_LENGTH : STREAM_HEADER_LENGTH;
      if (frame.length < headerLength + AEAD_TAG_LENGTH) fail(envelopeInvalidError());
      if (index === 0) {
        keys = deriveStreamKeys(responseKeys, frame.subarray(STREAM_HEADER_LENGTH, STREAM_FIRST_HEADER_LENGTH));
        nonce = Buffer.from(keys.baseNonce);
        baseLo = nonce.readUInt32BE(8);
      }
      nonce!.writeUInt32BE((baseLo ^ index) >>> 0, 8);
      let plaintext: Uint8Array;
      try {
        plaintext = aeadOpen(keys!.key, nonce!, frame.subarray(0, headerLength), frame.subarray(headerLength));
      } catch {
        return fail(envelopeInvalidError());
      }
      expected++;
      if (flags === STREAM_FLAG_FINAL) finished = true;
      return { plaintext, final: finished };
    },
    end() {
      if (failure) throw failure;
      if (!finished) fail(streamTruncatedError());
    },
    get chunks() {
      return expected;
    },
    get finished() {
      return finished;
    },
  };
}
