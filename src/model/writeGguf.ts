import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { diskError } from "./diskError.ts";
import { sha256Hex } from "./sha256Hex.ts";
import { encodeGguf, type GgufWriteSpec } from "./encodeGguf.ts";

/**
 * Writes a GGUF file (see `encodeGguf`) atomically: to a temporary file first, renamed into place,
 * so a crash never leaves a half-written model behind; creates the folder if needed. Returns its size and sha256.
 *
 * @example await writeGguf("tiny.gguf", { metadata: { "general.architecture": "llama" } })
 */
export async function writeGguf(path: string, spec: GgufWriteSpec): Promise<{ bytes: number; sha256: string }> {
  const bytes = encodeGguf(spec);
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw diskError(path, error);
  }
  return { bytes: bytes.length, sha256: sha256Hex(bytes) };
}
