import { readFile } from "node:fs/promises";
import { GotongError, isGotongError } from "../common/errors.ts";
import { detectModelFormat, type ModelFormat } from "./detectModelFormat.ts";
import { findDuplicateJsonKey } from "./findDuplicateJsonKey.ts";
import { printable } from "./printable.ts";
import type { ModelFileList } from "./listModelFiles.ts";
import { readGgufHeader } from "./readGgufHeader.ts";
import { readSafetensorsHeader } from "./readSafetensorsHeader.ts";

/** What a model's files say about it, read from their headers. */
export type ModelDescription = {
  format: ModelFormat;
  /** GGUF `general.architecture`; for safetensors `__metadata__` (`architecture`, `model_type`) or config.json. */
  architecture: string | undefined;
  /** Sum of the element counts of every tensor of every shard. */
  parameterCount: number | undefined;
  contextLength: number | undefined;
  /** The weight files (GGUF or safetensors), sorted; the rest are JSON companions. */
  weightFiles: string[];
};

/**
 * JSON files that travel with safetensors weights and that loaders read: accepted in a model folder
 * (and signed with it) once they parse as JSON. Nothing else that is not weights is accepted.
 */
const COMPANIONS = new Set(["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "preprocessor_config.json", "chat_template.json"]);
const INDEX = /\.safetensors\.index\.json$/;
const SHARD = /^(.*)-(\d{5})-of-(\d{5})\.(safetensors|gguf)$/;
const MAX_COMPANION_BYTES = 64 * 1024 * 1024;
const FOLDER_HINT = "A model folder may hold only GGUF or safetensors files and the JSON that goes with them (config.json, tokenizer.json, model.safetensors.index.json…): move anything else out of it.";

/**
 * Reads what a model's files are: the format of each by its bytes (refusing pickle in any disguise,
 * and any file that is neither weights nor a known JSON companion), every header (checked in full),
 * that shards named `-0000N-of-0000M` or listed in an index are all present and agree, and the
 * architecture, parameter count and context length.
 *
 * @example const { format, architecture } = await describeModelFiles(await listModelFiles(path));
 */
export async function describeModelFiles(list: ModelFileList, options: { signal?: AbortSignal } = {}): Promise<ModelDescription> {
  const weights: { path: string; absolute: string; format: ModelFormat }[] = [];
  const companions = new Map<string, unknown>();
  for (const file of list.files) {
    options.signal?.throwIfAborted();
    try {
      weights.push({ path: file.path, absolute: file.absolute, format: await detectModelFormat(file.absolute) });
    } catch (error) {
      // A file named as weights that is not valid weights is corrupt, not a stray: its own error says so.
      const name = file.path.split("/").pop()!;
      if (list.single || !isGotongError(error, "model_format_unsupported") || /\.(gguf|safetensors)$/i.test(name)) throw error;
      if (COMPANIONS.has(name) || INDEX.test(name)) {
        companions.set(file.path, await readCompanion(file.path, file.absolute, file.size));
        continue;
      }
      throw new GotongError(`${file.path} in ${list.root} is not part of a model Gotong accepts: ${error.message}`, {
        code: "model_folder_unknown_file",
        status: 415,
        hint: FOLDER_HINT,
        cause: error,
      });
    }
  }
  if (weights.length === 0) throw new GotongError(`${list.root} holds no GGUF or safetensors file.`, { code: "model_folder_invalid", hint: FOLDER_HINT });
  const format = weights[0]!.format;
  const other = weights.find((w) => w.format !== format);
  if (other) {
    throw new GotongError(`${list.root} mixes formats: ${weights[0]!.path} is ${format} but ${other.path} is ${other.format}.`, { code: "model_folder_invalid", hint: "Publish one format per model." });
  }
  if (format === "gguf" && companions.size > 0) {
    throw new GotongError(`${[...companions.keys()][0]} in ${list.root} does not belong with GGUF weights, which carry their own metadata.`, { code: "model_folder_unknown_file", hint: FOLDER_HINT });
  }
  checkShardNames(list.root, weights.map((w) => w.path));

  const weightFiles = weights.map((w) => w.path);
  if (format === "gguf") {
    let architecture: string | undefined;
    let contextLength: number | undefined;
    let parameterCount = 0;
    for (const file of weights) {
      const header = await readGgufHeader(file.absolute, { signal: options.signal });
      // llama.cpp's gguf-split writes the model's metadata in the first shard only.
      if (header.architecture !== undefined) {
        if (architecture !== undefined && header.architecture !== architecture) {
          throw new GotongError(`The shards of ${list.root} disagree: ${file.path} is ${header.architecture}, another is ${architecture}.`, { code: "model_shard_mismatch", status: 422 });
        }
        architecture = header.architecture;
      }
      contextLength ??= header.contextLength;
      parameterCount += header.parameterCount ?? 0;
    }
    return { format, architecture, parameterCount, contextLength, weightFiles };
  }

  const owner = new Map<string, string>();
  const tensorsOf = new Map<string, Set<string>>();
  const metadata: Record<string, string>[] = [];
  let parameterCount = 0n;
  for (const file of weights) {
    const header = await readSafetensorsHeader(file.absolute, { signal: options.signal });
    const names = new Set<string>();
    for (const tensor of header.tensors) {
      const first = owner.get(tensor.name);
      if (first !== undefined) {
        throw new GotongError(`Tensor "${printable(tensor.name)}" is in both ${first} and ${file.path}.`, { code: "model_shard_mismatch", status: 422, hint: "The folder holds two copies or two versions of the weights: keep one set." });
      }
      owner.set(tensor.name, file.path);
      names.add(tensor.name);
    }
    tensorsOf.set(file.path, names);
    metadata.push(header.metadata);
    parameterCount += header.parameterCount;
  }
  for (const [path, index] of companions) if (INDEX.test(path)) checkIndex(list.root, path, index, tensorsOf);

  const config = companions.get("config.json") as Record<string, unknown> | undefined;
  const fromMetadata = (keys: string[]) => metadata.flatMap((m) => keys.map((k) => m[k])).find((v) => v !== undefined && v !== "");
  const architectures = config?.architectures;
  const architecture =
    fromMetadata(["architecture", "general.architecture", "model_type"]) ??
    (typeof config?.model_type === "string" ? config.model_type : undefined) ??
    (Array.isArray(architectures) && typeof architectures[0] === "string" ? architectures[0] : undefined);
  const contextText = fromMetadata(["context_length", "max_position_embeddings"]);
  const contextConfig = config?.max_position_embeddings;
  const contextLength =
    contextText !== undefined && /^[1-9]\d{0,15}$/.test(contextText) ? Number(contextText) : Number.isSafeInteger(contextConfig) && (contextConfig as number) > 0 ? (contextConfig as number) : undefined;
  return {
    format,
    architecture,
    parameterCount: parameterCount <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(parameterCount) : undefined,
    contextLength,
    weightFiles,
  };
}

/** Parses a JSON companion file, bounded, refusing anything that is not a clean JSON object. */
async function readCompanion(path: string, absolute: string, size: number): Promise<unknown> {
  const refuse = (why: string, cause?: unknown) =>
    new GotongError(`${path} ${why}.`, { code: "model_folder_unknown_file", status: 415, hint: FOLDER_HINT, cause });
  if (size > MAX_COMPANION_BYTES) throw refuse(`is ${size} bytes: too large for a JSON companion file`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await readFile(absolute));
  } catch (cause) {
    throw refuse("is not UTF-8 text", cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw refuse("is not valid JSON", cause);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw refuse("is not a JSON object");
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate !== undefined) throw refuse(`has the key "${printable(duplicate)}" twice`);
  return value;
}

/** Shards named `<prefix>-0000N-of-0000M.<ext>` must all be there, once, with one count per prefix. */
function checkShardNames(root: string, paths: string[]): void {
  const groups = new Map<string, { total: number; present: Set<number>; example: string }>();
  for (const path of paths) {
    const match = SHARD.exec(path);
    if (!match) continue;
    const [, prefix, number, total, ext] = match as unknown as [string, string, string, string, string];
    const key = `${prefix}\u0000${ext}`;
    const group = groups.get(key) ?? { total: Number(total), present: new Set<number>(), example: path };
    if (group.total !== Number(total)) {
      throw new GotongError(`${root} holds shards of two different sets: ${group.example} and ${path}.`, { code: "model_shard_mismatch", status: 422, hint: "Keep one complete set of shards." });
    }
    if (Number(number) < 1 || Number(number) > group.total) {
      throw new GotongError(`${path} is numbered outside 1…${group.total}.`, { code: "model_shard_mismatch", status: 422, hint: "Rename the shards as they were published." });
    }
    group.present.add(Number(number));
    groups.set(key, group);
  }
  for (const [key, group] of groups) {
    if (group.present.size === group.total) continue;
    const [prefix, ext] = key.split("\u0000") as [string, string];
    const missing = Array.from({ length: group.total }, (_, i) => i + 1).filter((n) => !group.present.has(n));
    const name = `${prefix}-${String(missing[0]).padStart(5, "0")}-of-${String(group.total).padStart(5, "0")}.${ext}`;
    throw new GotongError(`Shard ${name} is missing from ${root}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ""}: the names say there are ${group.total}.`, {
      code: "model_shard_missing",
      status: 422,
      hint: "Download the missing shards, then publish again.",
    });
  }
}

/** A `*.safetensors.index.json` must map every tensor to the shard that holds it, and only those shards. */
function checkIndex(root: string, indexPath: string, index: unknown, tensorsOf: Map<string, Set<string>>): void {
  const dir = indexPath.includes("/") ? indexPath.slice(0, indexPath.lastIndexOf("/") + 1) : "";
  const weightMap = (index as { weight_map?: unknown }).weight_map;
  const mismatch = (message: string) => new GotongError(message, { code: "model_shard_mismatch", status: 422, hint: "The index and the shards come from different versions of the model: download them again together." });
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) throw mismatch(`${indexPath} has no weight_map object.`);
  const mapped = new Map<string, number>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string") throw mismatch(`${indexPath} maps "${printable(tensor)}" to something that is not a file name.`);
    const path = dir + shard;
    const tensors = tensorsOf.get(path);
    if (tensors === undefined) {
      throw new GotongError(`Shard ${printable(shard, 200)}, named in ${indexPath}, is missing from ${root}.`, { code: "model_shard_missing", status: 422, hint: "Download the missing shards, then publish again." });
    }
    if (!tensors.has(tensor)) throw mismatch(`${indexPath} says "${printable(tensor)}" is in ${printable(shard, 200)}, but that shard does not hold it.`);
    mapped.set(path, (mapped.get(path) ?? 0) + 1);
  }
  for (const [path, tensors] of tensorsOf) {
    if (!path.startsWith(dir) || path.slice(dir.length).includes("/")) continue;
    if ((mapped.get(path) ?? 0) !== tensors.size) throw mismatch(`${path} holds tensors that ${indexPath} does not list.`);
  }
}
