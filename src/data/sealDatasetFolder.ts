import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { listModelFiles } from "../model/listModelFiles.ts";
import { datasetError } from "./errors.ts";
import { sealDatasetFile } from "./sealDatasetFile.ts";

/**
 * Seals every file of the dataset at `source` into `destination` with the dataset key, keeping the
 * relative paths (`sealDatasetFile`), so the sealed folder is what gets hashed, signed and shared;
 * the plaintext never leaves the owner's machine. `destination` must be empty or absent.
 *
 * @example await sealDatasetFolder("./corpus", "./corpus.sealed", datasetKey);
 */
export async function sealDatasetFolder(source: string, destination: string, datasetKey: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
  const existing = await readdir(destination).catch(() => [] as string[]);
  if (existing.length > 0) throw datasetError("dataset_file_mismatch", `${destination} is not empty.`, { status: 409, hint: "Seal into a new folder: sealed files are never mixed with others." });
  const list = await listModelFiles(source, options);
  for (const file of list.files) {
    options.signal?.throwIfAborted();
    const out = join(destination, ...file.path.split("/"));
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, sealDatasetFile(datasetKey, file.path, await readFile(file.absolute)));
  }
}
