/** OpenRouter's level for each GGUF tensor type that has one; the others (Q5_K, Q6_K, Q3_K, IQ2…) match by name only. */
const LEVELS: Readonly<Record<string, string>> = {
  F32: "fp32",
  F16: "fp16",
  BF16: "bf16",
  Q8_0: "int8",
  Q8_1: "int8",
  Q8_K: "int8",
  I8: "int8",
  Q4_0: "int4",
  Q4_1: "int4",
  Q4_K: "int4",
  IQ4_NL: "int4",
  IQ4_XS: "int4",
  MXFP4: "fp4",
  NVFP4: "fp4",
};

/**
 * Whether an offer whose weights are mostly of GGUF tensor type `weightType` (`Q4_K`, `F16`…;
 * undefined when the provider does not say) is one of the `wanted` quantizations: an OpenRouter
 * level (`int4`, `int8`, `fp4`, `fp16`, `bf16`, `fp32`; `unknown` for an offer that states none) or
 * a tensor type name, lower case.
 *
 * @example matchesQuantization("Q4_K", ["int4"]) // true
 * @example matchesQuantization("Q6_K", ["int8", "q6_k"]) // true
 */
export function matchesQuantization(weightType: string | undefined, wanted: readonly string[]): boolean {
  if (weightType === undefined) return wanted.includes("unknown");
  const level = LEVELS[weightType.toUpperCase()];
  return wanted.some((q) => q === weightType.toLowerCase() || (level !== undefined && q === level));
}

/** OpenRouter's level for GGUF tensor type `weightType`, or undefined when it has none. */
export function quantizationLevel(weightType: string | undefined): string | undefined {
  return weightType === undefined ? undefined : LEVELS[weightType.toUpperCase()];
}
