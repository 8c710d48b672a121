import { createHash } from "node:crypto";
import type { GgufHeader } from "./parseGgufHeader.ts";
import type { ModelFingerprint } from "./modelManifest.ts";

/** The GGUF array that holds the tokenizer's vocabulary: `readModelFingerprint` asks the reader to keep it. */
export const VOCABULARY_KEY = "tokenizer.ggml.tokens";
const MAX_BASE_MODELS = 16;

/**
 * What a GGUF model is, independent of how its weights are stored: the architecture, a hash of the
 * tensor names and shapes (the ggml type is left out, since a quantisation changes every type and
 * no shape), a hash of the tokenizer vocabulary, and the `general.base_model.*` fields the
 * converter wrote. A re-upload or a quantisation of a model has other bytes, so another weights
 * hash, but the same fingerprint; so does a full fine-tune, which also must name its parent.
 * `headers` are every shard's (tensors are pooled; metadata comes from the first that has it).
 * Undefined when no header names an architecture.
 *
 * @example const fingerprint = computeModelFingerprint([await readGgufHeader(path, { keepArrays: [VOCABULARY_KEY] })]);
 */
export function computeModelFingerprint(headers: readonly GgufHeader[]): ModelFingerprint | undefined {
  const architecture = headers.find((h) => h.architecture !== undefined)?.architecture;
  if (architecture === undefined) return undefined;
  const tensors = headers.flatMap((h) => h.tensors.map((t) => `${t.name}\t${t.dims.join(",")}`));
  tensors.sort();
  const tensorsHash = hashStrings(tensors);
  const fingerprint: ModelFingerprint = { architecture, tensorsHash, tensorCount: tensors.length };

  const vocabulary = headers.map((h) => h.metadata.get(VOCABULARY_KEY)).find((e) => e !== undefined);
  if (vocabulary?.type === "array" && vocabulary.value.values !== undefined && vocabulary.value.values.length > 0) {
    fingerprint.vocabularyHash = hashStrings(vocabulary.value.values.map(String));
    fingerprint.vocabularySize = vocabulary.value.values.length;
  }

  const baseModels = readBaseModels(headers.find((h) => h.architecture !== undefined)!);
  if (baseModels.length > 0) fingerprint.baseModels = baseModels;
  return fingerprint;
}

/** `general.base_model.N.{name,organization,repo_url}` as `name|organization|repo_url`, for N below `general.base_model.count`. */
function readBaseModels(header: GgufHeader): string[] {
  const text = (key: string): string => {
    const entry = header.metadata.get(key);
    return entry !== undefined && entry.type === "string" ? String(entry.value).replace(/[|\u0000-\u001f\u007f]/g, " ").trim().slice(0, 300) : "";
  };
  const countEntry = header.metadata.get("general.base_model.count");
  const count = countEntry !== undefined && countEntry.type !== "array" ? Number(countEntry.value) : 0;
  const out: string[] = [];
  for (let i = 0; i < Math.min(Number.isFinite(count) ? count : 0, MAX_BASE_MODELS); i++) {
    const fields = [text(`general.base_model.${i}.name`), text(`general.base_model.${i}.organization`), text(`general.base_model.${i}.repo_url`)];
    if (fields.some((f) => f !== "")) out.push(fields.join("|"));
  }
  return out;
}

/** sha256 hex of a list of strings, each length-prefixed so that no two lists hash alike. */
function hashStrings(items: readonly string[]): string {
  const hash = createHash("sha256");
  const length = Buffer.alloc(4);
  for (const item of items) {
    const bytes = Buffer.from(item, "utf8");
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  }
  return hash.digest("hex");
}
