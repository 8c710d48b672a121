/** Size of one ggml tensor element type: `blockSize` elements are stored in `typeSize` bytes. */
export type GgmlTypeInfo = {
  /** ggml's name for the type, e.g. `F32`, `Q4_K`. */
  name: string;
  /** Elements per block (1 for plain types, 32 or 256 for most quantized types). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
};

// ggml's type table (ggml.c `type_traits`), checked against the native library of node-llama-cpp
// 3.22.1 by `ggmlTypeInfo.test.ts`. Ids 4, 5, 31-33 and 36-38 were removed from ggml; files that
// use them cannot be loaded by any current llama.cpp, so they are refused like unknown ids.
const table: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (
    [
      [0, "F32", 1, 4],
      [1, "F16", 1, 2],
      [2, "Q4_0", 32, 18],
      [3, "Q4_1", 32, 20],
      [6, "Q5_0", 32, 22],
      [7, "Q5_1", 32, 24],
      [8, "Q8_0", 32, 34],
      [9, "Q8_1", 32, 36],
      [10, "Q2_K", 256, 84],
      [11, "Q3_K", 256, 110],
      [12, "Q4_K", 256, 144],
      [13, "Q5_K", 256, 176],
      [14, "Q6_K", 256, 210],
      [15, "Q8_K", 256, 292],
      [16, "IQ2_XXS", 256, 66],
      [17, "IQ2_XS", 256, 74],
      [18, "IQ3_XXS", 256, 98],
      [19, "IQ1_S", 256, 50],
      [20, "IQ4_NL", 32, 18],
      [21, "IQ3_S", 256, 110],
      [22, "IQ2_S", 256, 82],
      [23, "IQ4_XS", 256, 136],
      [24, "I8", 1, 1],
      [25, "I16", 1, 2],
      [26, "I32", 1, 4],
      [27, "I64", 1, 8],
      [28, "F64", 1, 8],
      [29, "IQ1_M", 256, 56],
      [30, "BF16", 1, 2],
      [34, "TQ1_0", 256, 54],
      [35, "TQ2_0", 256, 66],
      [39, "MXFP4", 32, 17],
      [40, "NVFP4", 64, 36],
      [41, "Q1_0", 128, 18],
      [42, "Q2_0", 64, 18],
    ] as const
  ).map(([id, name, blockSize, typeSize]) => [id, { name, blockSize, typeSize }]),
);

/** The block and byte size of ggml tensor type `id`, or undefined for an unknown or removed type. */
export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return table.get(id);
}
