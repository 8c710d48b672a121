import type { Hex } from "viem";
import { storeContentAddressed } from "../model/storeContentAddressed.ts";
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
  const { hash, path, bytes } = await storeContentAddressed(dir, signed);
  return { manifestHash: hash, manifestURI: `gotong:dataset:${hash}`, path, bytes };
}
