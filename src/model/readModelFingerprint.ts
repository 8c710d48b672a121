import type { ModelFingerprint } from "./modelManifest.ts";
import { computeModelFingerprint, VOCABULARY_KEY } from "./computeModelFingerprint.ts";
import { readGgufHeader } from "./readGgufHeader.ts";

/**
 * Reads the fingerprint of a GGUF model from its files' headers (tensor data is never read; the
 * vocabulary array is kept, a few MB at most). `paths` are the weight files, every shard.
 *
 * @example const fingerprint = await readModelFingerprint(["model.gguf"]);
 */
export async function readModelFingerprint(paths: readonly string[], options: { signal?: AbortSignal } = {}): Promise<ModelFingerprint | undefined> {
  const headers = [];
  for (const path of paths) headers.push(await readGgufHeader(path, { keepArrays: [VOCABULARY_KEY], signal: options.signal }));
  return computeModelFingerprint(headers);
}
