import { open } from "node:fs/promises";
import { GotongError } from "../common/errors.ts";
import { PICKLE_HINT, SNIFF_HEAD_BYTES, sniffModelBytes } from "./sniffModelBytes.ts";

/** The weight formats Gotong accepts: neither can run code when loaded. */
export type ModelFormat = "gguf" | "safetensors";

/**
 * Tells a GGUF from a safetensors file by its magic bytes, never by its name, and refuses
 * everything else: pickles in any wrapper (raw pickle, PyTorch zip checkpoints, 7z and other
 * archives, NumPy object arrays) with an error that says why, and unknown formats with what was
 * found. Nothing is ever unpickled or unpacked. Only the first 4 KiB and the last byte are read.
 *
 * @example await detectModelFormat("model.safetensors") // "safetensors"
 */
export async function detectModelFormat(path: string): Promise<ModelFormat> {
  let head: Uint8Array;
  let size: bigint;
  let lastByte: number | undefined;
  try {
    const handle = await open(path, "r");
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
      size = BigInt(stats.size);
      const buffer = new Uint8Array(Math.min(SNIFF_HEAD_BYTES, stats.size));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
      if (stats.size > 0) {
        const last = new Uint8Array(1);
        const tail = await handle.read(last, 0, 1, stats.size - 1);
        lastByte = tail.bytesRead === 1 ? last[0] : undefined;
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GotongError(code === "ENOENT" ? `Model file not found: ${path}` : `Cannot read ${path} (${code ?? String(error)}).`, {
      code: code === "ENOENT" ? "model_file_not_found" : "model_file_unreadable",
      status: code === "ENOENT" ? 404 : 400,
      hint: code === "ENOENT" ? "Check the path." : "Check that the path is a readable regular file.",
      cause: error,
    });
  }

  const sniff = sniffModelBytes(head, size, lastByte);
  switch (sniff.kind) {
    case "gguf":
      return "gguf";
    case "safetensors":
      return "safetensors";
    case "pickle":
      throw new GotongError(`Refusing ${path}: it is ${sniff.what}. Pickle-based formats can run arbitrary code when loaded.`, {
        code: "model_format_pickle",
        status: 415,
        hint: PICKLE_HINT,
      });
    case "other":
      throw new GotongError(`Unsupported model format: ${path} is ${sniff.what}. Gotong accepts GGUF and safetensors only.`, {
        code: "model_format_unsupported",
        status: 415,
        hint: sniff.hint,
      });
  }
}
