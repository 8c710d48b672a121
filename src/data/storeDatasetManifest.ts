import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { canonicalJson } from "../model/canonicalJson.ts";
import { diskError } from "../model/diskError.ts";
import { sha256Hex } from "../model/sha256Hex.ts";
import type { SignedDatasetManifest } from "./datasetManifest.ts";

/** Where a signed dataset manifest was stored, and its content address. */
export type StoredDatasetManifest = { manifestHash: Hex; manifestURI: string; path: string; bytes: string };

/**
 * Writes a signed dataset manifest content-addressed, `<dir>/<sha256>.json` holding the canonical
 * JSON of `{ manifest, signature }` (the registry's `manifestHash` pins that one envelope), through
 * a temporary file so a crash never leaves half a manifest under a valid name.
 *
 * @example const { manifestHash } = await storeDatasetManifest(join(home.root, "datasets"), signed);
 */
export async function storeDatasetManifest(dir: string, signed: SignedDatasetManifest): Promise<StoredDatasetManifest> {
  const bytes = canonicalJson({ manifest: signed.manifest, signature: signed.signature });
  const hex = sha256Hex(bytes);
  const path = join(dir, `${hex}.json`);
  const stored = { manifestHash: `0x${hex}` as Hex, manifestURI: `gotong:dataset:0x${hex}`, path, bytes };
  if ((await readFile(path, "utf8").catch(() => undefined)) === bytes) return stored;
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (error) {
    throw diskError(path, error);
  }
  return stored;
}
