import type { Hex } from "viem";
import type { SignedManifest } from "./modelManifest.ts";
import { storeContentAddressed } from "./storeContentAddressed.ts";

/** Where a signed manifest was stored, and its content address. */
export type StoredManifest = {
  /** sha256 of the file's bytes: the registry's `manifestHash`. */
  manifestHash: Hex;
  /** `gotong:manifest:<manifestHash>`, the registry's `metadataURI`. */
  metadataURI: string;
  path: string;
  /** The exact bytes stored (canonical JSON of `{ manifest, signature }`). */
  bytes: string;
};

/**
 * Writes a signed manifest content-addressed: `<dir>/<sha256>.json` holding the canonical JSON of
 * `{ manifest, signature }`, whose sha256 is the file name. The signature is inside what the
 * registry commits to, so the on-chain hash pins one signed envelope. Written to a temporary file
 * and renamed, so a crash never leaves a half-written manifest under a valid name.
 *
 * @example const { manifestHash } = await storeManifest(home.manifests, signed);
 */
export async function storeManifest(dir: string, signed: SignedManifest): Promise<StoredManifest> {
  const { hash, path, bytes } = await storeContentAddressed(dir, signed);
  return { manifestHash: hash, metadataURI: `gotong:manifest:${hash}`, path, bytes };
}
