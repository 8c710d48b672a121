import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { canonicalJson } from "./canonicalJson.ts";
import { diskError } from "./diskError.ts";
import { sha256Hex } from "./sha256Hex.ts";

/**
 * Writes a signed envelope content-addressed: `<dir>/<sha256>.json` holding the canonical JSON of
 * `{ manifest, signature }`, whose sha256 is the file name (what a registry's `manifestHash` pins).
 * Written to a temporary file and renamed, so a crash never leaves half a file under a valid name;
 * a file already holding exactly these bytes is left as it is.
 *
 * @example const { hash, path } = await storeContentAddressed(home.manifests, signed);
 */
export async function storeContentAddressed(dir: string, signed: { manifest: unknown; signature: Hex }): Promise<{ hash: Hex; path: string; bytes: string }> {
  const bytes = canonicalJson({ manifest: signed.manifest, signature: signed.signature });
  const hex = sha256Hex(bytes);
  const path = join(dir, `${hex}.json`);
  const stored = { hash: `0x${hex}` as Hex, path, bytes };
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
