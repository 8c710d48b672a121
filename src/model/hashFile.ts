import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import { GotongError } from "../common/errors.ts";

/** Options of `hashFile`. */
export type HashFileOptions = {
  /** Cancels hashing; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called as bytes are hashed, with the file size as total (always known here). */
  onProgress?: (done: number, total: number) => void;
};

/**
 * Streaming sha256 of a file, as lowercase hex without `0x`. Memory stays flat whatever the file's size.
 *
 * @example await hashFile("model.gguf") // "270cba1b…"
 */
export async function hashFile(path: string, options: HashFileOptions = {}): Promise<string> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  let size: number;
  try {
    const stats = await stat(path);
    if (!stats.isFile()) throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
    size = stats.size;
  } catch (error) {
    throw readError(path, error);
  }
  const hash = createHash("sha256");
  let done = 0;
  onProgress?.(0, size);
  // 1 MiB chunks: large enough that per-chunk overhead vanishes, small enough to cancel promptly.
  const stream = createReadStream(path, { highWaterMark: 1 << 20, signal });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      done += chunk.length;
      onProgress?.(done, size);
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw readError(path, error);
  }
  return hash.digest("hex");
}

function readError(path: string, error: unknown): GotongError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") {
    return new GotongError(`File not found: ${path}`, { code: "model_file_not_found", status: 404, hint: "Check the path.", cause: error });
  }
  return new GotongError(`Cannot read ${path} (${code ?? String(error)}).`, {
    code: "model_file_unreadable",
    hint: code === "EACCES" || code === "EPERM" ? "Check the file's permissions." : "Check that the path is a readable regular file.",
    cause: error,
  });
}
