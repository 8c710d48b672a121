import { hashModelFiles } from "../model/hashModelFiles.ts";
import { listModelFiles } from "../model/listModelFiles.ts";
import type { ManifestFile } from "../model/modelManifest.ts";
import type { DatasetManifest } from "./datasetManifest.ts";
import { datasetError } from "./errors.ts";

/**
 * Checks a dataset folder (or single file) against its manifest: the same set of files, each of the
 * size and sha256 it lists. Listed like a model folder, so a symlink out of the folder is refused.
 * Throws `dataset_file_mismatch` naming the first file that differs, is missing or is not signed.
 *
 * @example await checkDatasetFiles("./corpus", signed.manifest, { onProgress });
 */
export async function checkDatasetFiles(path: string, manifest: DatasetManifest, options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<ManifestFile[]> {
  const list = await listModelFiles(path, options);
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const mismatch = (message: string) => datasetError("dataset_file_mismatch", message, { hint: "These are not the files the dataset's owner signed: get the dataset again, or do not trust it." });
  for (const file of list.files) {
    const expected = listed.get(file.path);
    if (expected === undefined) throw mismatch(`${file.path} in ${path} is not in the dataset's signed manifest.`);
    if (expected.size !== file.size) throw mismatch(`${file.path} is ${file.size} bytes; the signed manifest says ${expected.size}.`);
  }
  const present = new Set(list.files.map((f) => f.path));
  const missing = manifest.files.find((f) => !present.has(f.path));
  if (missing !== undefined) throw mismatch(`${missing.path}, listed in the dataset's signed manifest, is missing from ${path}.`);
  const hashed = await hashModelFiles(list.files, options);
  for (const file of hashed) {
    const expected = listed.get(file.path)!;
    if (file.sha256 !== expected.sha256) throw mismatch(`${file.path} has sha256 ${file.sha256}; the signed manifest says ${expected.sha256}.`);
  }
  return hashed;
}
