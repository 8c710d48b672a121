import type { GgufHeader } from "./parseGgufHeader.ts";

/**
 * The ggml type most of a model's weights are stored in (`Q4_K`, `Q8_0`, `F16`…): its quantization.
 * Counted by elements over the weight matrices (tensors of two or more dimensions), since norms and
 * biases stay F32 in any quantization; a file's `general.file_type` is not trusted, being only a
 * label written beside the tensors. Undefined for a file without tensors.
 *
 * @example ggufWeightType(await readGgufHeader("model-Q4_K_M.gguf")) // "Q4_K"
 */
export function ggufWeightType(header: Pick<GgufHeader, "tensors">): string | undefined {
  const matrices = header.tensors.filter((t) => t.dims.length >= 2);
  const counted = matrices.length ? matrices : header.tensors;
  const elements = new Map<string, bigint>();
  for (const t of counted) elements.set(t.typeName, (elements.get(t.typeName) ?? 0n) + t.elementCount);
  let best: string | undefined;
  for (const [type, count] of elements) if (best === undefined || count > elements.get(best)!) best = type;
  return best;
}
