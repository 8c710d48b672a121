import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { canonicalJson } from "./canonicalJson.ts";
import { diskError } from "./diskError.ts";
import type { SignedManifest } from "./modelManifest.ts";
import { sha256Hex } from "./sha256Hex.ts";

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
  const bytes = canonicalJson({ manifest: signed.manifest, signature: signed.signature });
  const hex = sha256Hex(bytes);
  const path = join(dir, `${hex}.json`);
  const stored = { manifestHash: `0x${hex}` as Hex, metadataURI: `gotong:manifest:0x${hex}`, path, bytes };
  const existing = await readFile(path, "utf8").catch(() => undefined);
  if (existing === bytes) return stored;
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
