import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { expand } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { GotongError } from "../../common/errors.ts";
import { concatBytes, fromBase64url, utf8 } from "./bytes.ts";
import { envelopeInvalidError, streamAfterFinalError, streamOutOfOrderError, streamTruncatedError } from "./errors.ts";
import { AEAD_TAG_LENGTH } from "./hpke.ts";
import type { ResponseKeys } from "./sealRequest.ts";

/** Flag of the final chunk. */
const FLAG_FINAL = 0x01;
/** Header of every chunk after the first: flags and a uint32 index. */
const HEADER_LENGTH = 5;
/** Length of the stream salt carried by chunk 0. */
const SALT_LENGTH = 32;
const STREAM_KEYS_INFO = utf8("gotong/v1 response stream");

/** An opened chunk. */
export type OpenedChunk = { plaintext: Uint8Array; final: boolean };

/** Opens a sealed response stream in order (format in `src/privacy/streamFraming.ts`). */
export type StreamOpener = {
  /** Opens the next frame; after any error every later call throws the same error. */
  open(frame: Uint8Array): OpenedChunk;
  /** Declares the stream over; throws `stream_truncated` unless the final chunk was opened. */
  end(): void;
  readonly chunks: number;
  readonly finished: boolean;
};

/**
 * Starts opening a sealed response stream with the keys `sealRequest` returned: key || base_nonce
 * = HKDF-Expand(secret, "gotong/v1 response stream" || salt, 44), nonce = base_nonce XOR index,
 * AAD = the frame's header.
 *
 * @example const opener = createStreamOpener(responseKeys); opener.open(decodeSseFrame(data));
 */
export function createStreamOpener(responseKeys: ResponseKeys): StreamOpener {
  let key: Uint8Array | undefined;
  let baseNonce: Uint8Array | undefined;
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
      if (!(frame instanceof Uint8Array) || frame.length < HEADER_LENGTH + AEAD_TAG_LENGTH) fail(envelopeInvalidError());
      const flags = frame[0]!;
      if (flags !== 0 && flags !== FLAG_FINAL) fail(envelopeInvalidError());
      const index = ((frame[1]! << 24) | (frame[2]! << 16) | (frame[3]! << 8) | frame[4]!) >>> 0;
      if (index !== expected) fail(streamOutOfOrderError(index, expected));
      const headerLength = index === 0 ? HEADER_LENGTH + SALT_LENGTH : HEADER_LENGTH;
      if (frame.length < headerLength + AEAD_TAG_LENGTH) fail(envelopeInvalidError());
      if (index === 0) {
        const okm = expand(sha256, responseKeys.secret, concatBytes(STREAM_KEYS_INFO, frame.subarray(HEADER_LENGTH, headerLength)), 44);
        key = okm.slice(0, 32);
        baseNonce = okm.slice(32, 44);
      }
      const nonce = baseNonce!.slice();
      nonce[8]! ^= (index >>> 24) & 0xff;
      nonce[9]! ^= (index >>> 16) & 0xff;
      nonce[10]! ^= (index >>> 8) & 0xff;
      nonce[11]! ^= index & 0xff;
      let plaintext: Uint8Array;
      try {
        plaintext = chacha20poly1305(key!, nonce, frame.subarray(0, headerLength)).decrypt(frame.subarray(headerLength));
      } catch {
        return fail(envelopeInvalidError());
      }
      expected++;
      if (flags === FLAG_FINAL) finished = true;
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

/**
 * The frame in an SSE `data:` value: strict unpadded base64url, surrounding whitespace ignored;
 * anything else is the uniform `envelope_invalid`.
 */
export function decodeSseFrame(data: string): Uint8Array {
  const bytes = fromBase64url(data.trim());
  if (bytes === undefined) throw envelopeInvalidError();
  return bytes;
}
