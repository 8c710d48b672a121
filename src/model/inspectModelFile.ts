import { detectModelFormat, type ModelFormat } from "./detectModelFormat.ts";
import { readGgufHeader } from "./readGgufHeader.ts";
import { readSafetensorsHeader } from "./readSafetensorsHeader.ts";

/** What a model file's header says, in plain values (bigints as strings) ready to print or serialise. */
export type ModelFileSummary = {
  format: ModelFormat;
  architecture: string | null;
  name: string | null;
  parameters: string | null;
  contextLength: number | null;
  tensors: number;
  /** Element types and how many tensors use each, e.g. `{ F32: 3, Q4_K: 40 }`. */
  tensorTypes: Record<string, number>;
  /** GGUF: metadata keys; safetensors: `__metadata__` entries. */
  metadataKeys: number;
  /** safetensors `__metadata__` (GGUF metadata is too large to print whole). */
  metadata: Record<string, string> | null;
  /** GGUF format version; null for safetensors. */
  version: number | null;
  headerBytes: number;
  fileSize: string;
};

/**
 * Identifies a model file by its bytes (refusing pickle with the danger named) and summarises its
 * checked header, GGUF or safetensors. Tensor data is never read.
 *
 * @example (await inspectModelFile("model.safetensors")).tensors
 */
export async function inspectModelFile(path: string, options: { signal?: AbortSignal } = {}): Promise<ModelFileSummary> {
  const format = await detectModelFormat(path);
  const count = (types: string[]) => types.reduce<Record<string, number>>((acc, t) => ((acc[t] = (acc[t] ?? 0) + 1), acc), {});
  if (format === "gguf") {
    const header = await readGgufHeader(path, { signal: options.signal });
    return {
      format,
      architecture: header.architecture ?? null,
      name: header.name ?? null,
      parameters: header.parameterCount === undefined ? null : String(header.parameterCount),
      contextLength: header.contextLength ?? null,
      tensors: header.tensorCount,
      tensorTypes: count(header.tensors.map((t) => t.typeName)),
      metadataKeys: header.metadataCount,
      metadata: null,
      version: header.version,
      headerBytes: Number(header.dataOffset),
      fileSize: header.fileSize.toString(),
    };
  }
  const header = await readSafetensorsHeader(path, { signal: options.signal });
  const meta = header.metadata;
  const context = meta.context_length ?? meta.max_position_embeddings;
  return {
    format,
    architecture: meta.architecture ?? meta["general.architecture"] ?? meta.model_type ?? null,
    name: meta.name ?? meta["general.name"] ?? null,
    parameters: header.parameterCount.toString(),
    contextLength: context !== undefined && /^[1-9]\d{0,15}$/.test(context) ? Number(context) : null,
    tensors: header.tensors.length,
    tensorTypes: count(header.tensors.map((t) => t.dtype)),
    metadataKeys: Object.keys(meta).length,
    metadata: { ...meta },
    version: null,
    headerBytes: header.dataOffset,
    fileSize: header.fileSize.toString(),
  };
}
