import type { GotongError } from "../common/errors.ts";
import { envelopeInvalidError, streamAfterFinalError, streamOutOfOrderError, streamTruncatedError } from "./errors.ts";

/**
 * What a sealed response stream's opener checks, without the cryptography (format in
 * `streamFraming.ts`). Node (`createStreamOpener.ts`, libsodium) and the browser
 * (`src/web/crypto`, noble) pass in their own key derivation and AEAD, so the two openers cannot
 * drift apart. This file imports no crypto and no Node API: the page bundles it as it is.
 */

/** Flag of the final chunk. */
export const STREAM_FLAG_FINAL = 0x01;
/** Header length of every chunk after the first (flags, index). */
export const STREAM_HEADER_LENGTH = 1 + 4;
/** Length of the per-stream salt, carried by chunk 0. */
export const STREAM_SALT_LENGTH = 32;
/** Header length of chunk 0 (flags, index, salt). */
export const STREAM_FIRST_HEADER_LENGTH = STREAM_HEADER_LENGTH + STREAM_SALT_LENGTH;
/** ChaCha20-Poly1305's tag, the least any sealed chunk carries. */
const TAG_LENGTH = 16;

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
 * The cryptographic half of an opener: given chunk 0's salt, derive the stream's key and base
 * nonce, and return what opens chunk `index` (nonce = base_nonce XOR index, AAD = its header).
 * That function may throw anything on a bad tag: the opener reports the uniform `envelope_invalid`.
 */
export type StreamDecrypter = (salt: Uint8Array) => (index: number, header: Uint8Array, sealed: Uint8Array) => Uint8Array;

/**
 * An opener that checks each frame's length, flags and index and keeps the stream's state,
 * leaving the decryption to `decrypter`. Internal to src/privacy and src/web/crypto.
 *
 * @example createFrameOpener((salt) => { const keys = derive(salt); return (index, header, sealed) => open(keys, index, header, sealed); })
 */
export function createFrameOpener(decrypter: StreamDecrypter): StreamOpener {
  let openChunk: ReturnType<StreamDecrypter> | undefined;
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
      if (!(frame instanceof Uint8Array) || frame.length < STREAM_HEADER_LENGTH + TAG_LENGTH) fail(envelopeInvalidError());
      const flags = frame[0]!;
      if (flags !== 0 && flags !== STREAM_FLAG_FINAL) fail(envelopeInvalidError());
      const index = ((frame[1]! << 24) | (frame[2]! << 16) | (frame[3]! << 8) | frame[4]!) >>> 0;
      if (index !== expected) fail(streamOutOfOrderError(index, expected));
      const headerLength = index === 0 ? STREAM_FIRST_HEADER_LENGTH : STREAM_HEADER_LENGTH;
      if (frame.length < headerLength + TAG_LENGTH) fail(envelopeInvalidError());
      if (index === 0) openChunk = decrypter(frame.subarray(STREAM_HEADER_LENGTH, STREAM_FIRST_HEADER_LENGTH));
      let plaintext: Uint8Array;
      try {
        plaintext = openChunk!(index, frame.subarray(0, headerLength), frame.subarray(headerLength));
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
