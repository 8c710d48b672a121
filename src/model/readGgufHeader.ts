import { GotongError, isGotongError } from "../common/errors.ts";
import { parseGgufHeader, type GgufHeader, type ParseGgufHeaderOptions } from "./parseGgufHeader.ts";
import { fillFromFile } from "./fillFromFile.ts";
import { withModelFile } from "./withModelFile.ts";

/** Options of `readGgufHeader`. */
export type ReadGgufHeaderOptions = Omit<ParseGgufHeaderOptions, "fileSize"> & {
  /**
   * Refuse headers larger than this many bytes. Real headers are a few MB even with a 256k-token
   * vocabulary and BPE merges; the limit keeps a crafted file from making us read gigabytes.
   * Default 256 MiB.
   */
  maxHeaderBytes?: number;
  /** Cancels the read. */
  signal?: AbortSignal;
};

const FIRST_READ_BYTES = 1 << 20;

/**
 * Reads and checks the header of the GGUF file at `path` with bounded reads: it starts with the
 * first MiB and reads further only while the header continues, never more than the file or
 * `maxHeaderBytes`. Tensor data is never read.
 *
 * @example const { architecture, tensorCount } = await readGgufHeader("model.gguf");
 */
export async function readGgufHeader(path: string, options: ReadGgufHeaderOptions = {}): Promise<GgufHeader> {
  const { maxHeaderBytes = 256 * 1024 * 1024, signal, ...parseOptions } = options;
  signal?.throwIfAborted();
  return withModelFile(path, ".gguf", async (handle, size) => {
    const fileSize = BigInt(size);
    const limit = Math.min(size, maxHeaderBytes);
    let buffer = new Uint8Array(Math.min(limit, FIRST_READ_BYTES));
    let filled = await fillFromFile(handle, buffer, 0);
    for (;;) {
      signal?.throwIfAborted();
      try {
        return parseGgufHeader(buffer.subarray(0, filled), { ...parseOptions, fileSize });
      } catch (error) {
        if (!isGotongError(error, "gguf_header_incomplete")) throw error;
        if (filled < buffer.length) {
          // A short read means the file shrank under us; treat it like a truncated file.
          throw new GotongError(`${path} changed size while it was being read.`, {
            code: "gguf_truncated",
            status: 422,
            hint: "Wait for whatever is writing the file to finish, then try again.",
          });
        }
        if (buffer.length >= limit) {
          throw new GotongError(`The GGUF header of ${path} is larger than ${maxHeaderBytes} bytes.`, {
            code: "gguf_header_too_large",
            status: 422,
            hint: "If you trust this file, raise maxHeaderBytes; no known model needs a header this large.",
          });
        }
        const grown = new Uint8Array(Math.min(limit, buffer.length * 2));
        grown.set(buffer);
        buffer = grown;
        filled = await fillFromFile(handle, buffer, filled);
      }
    }
  });
}
