import { readdir } from "node:fs/promises";
import type { Hex } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { loadManifest } from "./loadManifest.ts";
import type { ManifestFile, SignedManifest } from "./modelManifest.ts";

// Enough for every model a person publishes from one machine; a cap keeps a huge folder cheap.
const MAX_SCANNED = 10_000;

/**
 * Finds, among the manifests kept in `dir`, the one that describes the files at hand best, for a
 * model whose current bytes no longer match what was registered (a changed, missing or extra
 * file): the manifest for this deployment that shares the most files with them (for a folder, at
 * least one identical file; for a single file, its content or its name). Unreadable or foreign
 * manifests are skipped. Undefined when none fits.
 *
 * @example const found = await findLocalManifest(manifestsDir, hashedFiles, true, deployment);
 */
export async function findLocalManifest(
  dir: string,
  files: readonly ManifestFile[],
  single: boolean,
  deployment: Deployment,
): Promise<{ manifestHash: Hex; signed: SignedManifest } | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const byPath = new Map(files.map((f) => [f.path, f]));
  let best: { manifestHash: Hex; signed: SignedManifest; score: number } | undefined;
  for (const name of names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).slice(0, MAX_SCANNED)) {
    const manifestHash = `0x${name.slice(0, 64)}` as Hex;
    const signed = await loadManifest(dir, manifestHash).catch(() => undefined);
    if (signed === undefined) continue;
    const { manifest } = signed;
    if (manifest.chainId !== deployment.chainId || manifest.modelRegistry.toLowerCase() !== deployment.modelRegistry.toLowerCase()) continue;
    let score = 0;
    if (single) {
      const only = files[0]!;
      if (manifest.files.length === 1) score = manifest.files[0]!.sha256 === only.sha256 ? 3 : manifest.files[0]!.path === only.path ? 2 : 0;
    } else {
      // Two points a file that matches in full, one a file that is merely there by name; a folder
      // sharing no content with a manifest is another model, whatever its files are called.
      let same = 0;
      for (const file of manifest.files) {
        const mine = byPath.get(file.path);
        if (mine !== undefined) score += mine.sha256 === file.sha256 ? (same++, 2) : 1;
      }
      if (same === 0) score = 0;
    }
    if (score > 0 && (best === undefined || score > best.score)) best = { manifestHash, signed, score };
  }
  return best && { manifestHash: best.manifestHash, signed: best.signed };
}
