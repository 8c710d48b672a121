import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { datasetError } from "./errors.ts";

/** Bytes of a dataset key: a ChaCha20-Poly1305 key. */
export const DATASET_KEY_LENGTH = 32;

/** Where the key of the dataset with `contentHash` is kept: `<dir>/keys/<contentHash>.key`, mode 0600. */
export function datasetKeyPath(dir: string, contentHash: Hex): string {
  return join(dir, "keys", `${contentHash.toLowerCase()}.key`);
}

/**
 * A fresh random dataset key, written for `contentHash` (refusing to overwrite one: the files
 * sealed with the old key would be lost).
 *
 * @example const key = await createDatasetKey(datasetsDir, contentHash);
 */
export async function createDatasetKey(dir: string, contentHash: Hex, key: Uint8Array = randomBytes(DATASET_KEY_LENGTH)): Promise<Uint8Array> {
  const path = datasetKeyPath(dir, contentHash);
  await mkdir(join(dir, "keys"), { recursive: true, mode: 0o700 });
  await writeFile(path, Buffer.from(key).toString("hex") + "\n", { mode: 0o600, flag: "wx" }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
    const kept = await loadDatasetKey(dir, contentHash);
    if (!Buffer.from(kept).equals(Buffer.from(key))) throw datasetError("dataset_key_missing", `${path} already holds another key for this dataset.`, { hint: "Keep the key the files were sealed with." });
  });
  return key;
}

/**
 * The dataset key kept for `contentHash`, or `dataset_key_missing`.
 *
 * @example const key = await loadDatasetKey(datasetsDir, manifest.contentHash);
 */
export async function loadDatasetKey(dir: string, contentHash: Hex): Promise<Uint8Array> {
  const path = datasetKeyPath(dir, contentHash);
  const text = await readFile(path, "utf8").catch((cause) => {
    throw datasetError("dataset_key_missing", `No key for dataset ${contentHash} at ${path}.`, {
      status: 404,
      hint: "Only a dataset published with --seal has a key, and it is kept in the publisher's data folder: grant from there.",
      cause,
    });
  });
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw datasetError("dataset_key_missing", `${path} does not hold a 32-byte hex key.`);
  return Buffer.from(hex, "hex");
}
