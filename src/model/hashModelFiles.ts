import { GotongError } from "../common/errors.ts";
import { hashFile } from "./hashFile.ts";
import type { ModelFileEntry } from "./listModelFiles.ts";
import type { ManifestFile } from "./modelManifest.ts";

/** Options of `hashModelFiles`. */
export type HashModelFilesOptions = {
  signal?: AbortSignal;
  /** Bytes hashed so far over all files, out of their total size. */
  onProgress?: (done: number, total: number) => void;
};

/**
 * Streaming sha256 of every file of a model, one after the other, with progress over the total.
 * Refuses a file whose size changed since it was listed: its hash would describe bytes nobody
 * checked the header of.
 *
 * @example const files = await hashModelFiles((await listModelFiles(dir)).files, { onProgress });
 */
export async function hashModelFiles(files: readonly ModelFileEntry[], options: HashModelFilesOptions = {}): Promise<ManifestFile[]> {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let before = 0;
  const out: ManifestFile[] = [];
  options.onProgress?.(0, total);
  for (const file of files) {
    let hashed = 0;
    const sha256 = await hashFile(file.absolute, {
      signal: options.signal,
      onProgress: (done) => {
        hashed = done;
        options.onProgress?.(before + Math.min(done, file.size), total);
      },
    });
    if (hashed !== file.size) {
      throw new GotongError(`${file.path} changed size while it was being read (${file.size} → ${hashed} bytes).`, {
        code: "model_file_changed",
        status: 409,
        hint: "Wait for whatever is writing the file to finish, then try again.",
      });
    }
    before += file.size;
    out.push({ path: file.path, sha256, size: file.size });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
