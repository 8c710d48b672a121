import { describe, expect, it } from "vitest";
import { ggufWeightType } from "./ggufWeightType.ts";
import type { GgufTensorInfo } from "./parseGgufHeader.ts";

const tensor = (typeName: string, dims: number[]): GgufTensorInfo => ({
  name: `${typeName}-${dims.join("x")}`,
  dims: dims.map(BigInt),
  type: 0,
  typeName,
  offset: 0n,
  byteSize: 0n,
  elementCount: dims.reduce((a, b) => a * BigInt(b), 1n),
});

describe("ggufWeightType", () => {
  it("is the type holding most elements of the weight matrices, whatever the norms are stored in", () => {
    const tensors = [tensor("F32", [4096]), tensor("F32", [4096]), tensor("Q4_K", [4096, 4096]), tensor("Q4_K", [4096, 4096]), tensor("Q6_K", [4096, 1000])];
    expect(ggufWeightType({ tensors })).toBe("Q4_K");
    expect(ggufWeightType({ tensors: [...tensors, tensor("Q6_K", [4096, 8192])] })).toBe("Q6_K");
  });

  it("falls back to every tensor when none is a matrix, and is undefined without tensors", () => {
    expect(ggufWeightType({ tensors: [tensor("F16", [8]), tensor("F32", [4])] })).toBe("F16");
    expect(ggufWeightType({ tensors: [] })).toBeUndefined();
  });
});
