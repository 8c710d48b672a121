import { AEAD_TAG_LENGTH } from "./aead.ts";
import { STREAM_FIRST_HEADER_LENGTH } from "./createFrameOpener.ts";
import { envelopeInvalidError, streamFrameTooLargeError, streamTruncatedError } from "./errors.ts";

/**
 * The sealed response stream: how a provider streams an answer that only the client can read.
 *
 * Keys. Both ends hold `responseKeys.secret` = HPKE Export(request context, "gotong/v1 response", 32).
 * The sealer draws a fresh 32-byte salt for the stream and sends it in chunk 0; both ends derive
 *
 *   key (32) || base_nonce (12) = HKDF-Expand(PRK = secret, info = "gotong/v1 response stream" || salt, L = 44)
 *
 * (HKDF-SHA256 without the extract step: the secret is already a uniformly random key.)
 *
 * The salt keeps every stream's nonces fresh even when one envelope is opened twice (a replay):
 * the second response gets other keys instead of reusing the first one's key and nonces.
 *
 * Chunk frame:
 *
 *   offset  size   field
 *   0       1      flags: 0x00 more chunks follow, 0x01 final chunk; any other value is invalid
 *   1       4      chunk index, uint32 big-endian: 0, 1, 2, … in the order sealed
 *   5       32     salt, in chunk 0 only
 *   5 | 37  n+16   ChaCha20-Poly1305(key, nonce = base_nonce XOR index, aad = the header above, chunk)
 *
 * The header (flags, index and, in chunk 0, salt) is the AAD and the index is in the nonce, so a
 * chunk moved, replayed, relabelled as final or taken from another stream fails to authenticate.
 * The opener also requires index = number of chunks opened so far, nothing after the final chunk,
 * and a final chunk before the stream ends (`opener.end()`): reordering, dropping, replaying,
 * duplicating and truncating are each refused with their own error.
 *
 * Transport:
 * - SSE: one event per frame, `data: <base64url(frame), unpadded>` then a blank line
 *   ({@link encodeSseFrame} / {@link decodeSseFrame}).
 * - Binary body: each frame preceded by its length as uint32 big-endian
 *   ({@link encodeBinaryFrame} / {@link createBinaryFrameReader}).
 */

// The header layout lives beside the opener's checks, which the browser shares (no crypto there).
export { STREAM_FIRST_HEADER_LENGTH, STREAM_FLAG_FINAL, STREAM_HEADER_LENGTH, STREAM_SALT_LENGTH } from "./createFrameOpener.ts";
/** Most chunks a stream can hold: the index is a uint32 and never wraps. */
export const STREAM_MAX_CHUNKS = 0x1_0000_0000;

/** One SSE event carrying a sealed frame: `data: <base64url>\n\n`. */
export function encodeSseFrame(frame: Uint8Array): string {
  return `data: ${Buffer.from(frame.buffer, frame.byteOffset, frame.length).toString("base64url")}\n\n`;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The frame in the value of an SSE `data:` field (leading space and surrounding whitespace
 * ignored). Anything that is not strict unpadded base64url is the uniform `envelope_invalid`.
 */
export function decodeSseFrame(data: string): Uint8Array {
  const text = data.trim();
  if (!BASE64URL.test(text) || text.length % 4 === 1) throw envelopeInvalidError();
  return Buffer.from(text, "base64url");
}

/** A frame with its uint32 big-endian length in front, for a binary body. */
export function encodeBinaryFrame(frame: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(4 + frame.length);
  out.writeUInt32BE(frame.length, 0);
  out.set(frame, 4);
  return out;
}

/** Default cap on one binary frame: 1 MiB of plaintext and its header. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024 + STREAM_FIRST_HEADER_LENGTH + AEAD_TAG_LENGTH;

/** Splits a binary body into frames as its bytes arrive, whatever the network's chunking. */
export interface BinaryFrameReader {
  /** Feeds bytes; returns the frames they complete. */
  push(bytes: Uint8Array): Uint8Array[];
  /** Declares the body over: throws `stream_truncated` if a frame was cut off. */
  end(): void;
}

/**
 * A reader for length-prefixed frames. A length over `maxFrameBytes` is refused as soon as it is
 * read, before buffering the frame.
 *
 * @param options.maxFrameBytes largest frame accepted; default {@link DEFAULT_MAX_FRAME_BYTES}
 * @example
 * const reader = createBinaryFrameReader();
 * for await (const bytes of res.body) for (const frame of reader.push(bytes)) opener.open(frame);
 * reader.end(); opener.end();
 */
export function createBinaryFrameReader(options: { maxFrameBytes?: number } = {}): BinaryFrameReader {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  let pending: Buffer = Buffer.alloc(0);
  return {
    push(bytes) {
      pending = pending.length === 0 ? Buffer.from(bytes) : Buffer.concat([pending, bytes]);
      const frames: Uint8Array[] = [];
      let at = 0;
      while (pending.length - at >= 4) {
        const length = pending.readUInt32BE(at);
        if (length > maxFrameBytes) throw streamFrameTooLargeError(length, maxFrameBytes);
        if (pending.length - at - 4 < length) break;
        frames.push(pending.subarray(at + 4, at + 4 + length));
        at += 4 + length;
      }
      pending = pending.subarray(at);
      return frames;
    },
    end() {
      if (pending.length > 0) throw streamTruncatedError();
    },
  };
}
