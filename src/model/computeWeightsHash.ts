import type { Hex } from "viem";
import { canonicalJson } from "./canonicalJson.ts";
import type { ManifestFile } from "./modelManifest.ts";
import { sha256Hex } from "./sha256Hex.ts";

/**
 * The hash the registry knows a model's weights by. For a model of one file it is that file's
 * sha256, so a single GGUF keeps the hash `sha256sum` prints and providers already check. For
 * several files it is the sha256 of the canonical JSON of the files list (each `{path, sha256,
 * size}`, sorted by path): renaming, adding, dropping or changing any file changes it.
 *
 * @example computeWeightsHash([{ path: "m.gguf", sha256: "ab…", size: 10 }]) // "0xab…"
 */
export function computeWeightsHash(files: readonly ManifestFile[]): Hex {
  if (files.length === 1) return `0x${files[0]!.sha256}`;
  const list = files
    .map(({ path, sha256, size }) => ({ path, sha256, size }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return `0x${sha256Hex(canonicalJson(list))}`;
}
