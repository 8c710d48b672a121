import { getLlama } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { ggmlTypeInfo } from "./ggmlTypeInfo.ts";

describe("ggmlTypeInfo", () => {
  it("knows common types", () => {
    expect(ggmlTypeInfo(0)).toEqual({ name: "F32", blockSize: 1, typeSize: 4 });
    expect(ggmlTypeInfo(12)).toEqual({ name: "Q4_K", blockSize: 256, typeSize: 144 });
    expect(ggmlTypeInfo(4)).toBeUndefined(); // Q4_2, removed from ggml
    expect(ggmlTypeInfo(-1)).toBeUndefined();
  });

  it("agrees with the ggml inside node-llama-cpp for every type id", async () => {
    const llama = await getLlama({ gpu: false, build: "never" });
    try {
      // Internal API, used only here to check our table against the real library.
      const bindings = (llama as unknown as { _bindings?: Record<string, (id: number) => number | undefined> })._bindings;
      if (typeof bindings?.getTypeSizeForGgmlType !== "function" || typeof bindings.getBlockSizeForGgmlType !== "function") {
        console.warn("Skipping the ggml type table check: this node-llama-cpp does not expose type sizes.");
        return;
      }
      for (let id = 0; id < 64; id++) {
        const typeSize = bindings.getTypeSizeForGgmlType(id);
        const blockSize = bindings.getBlockSizeForGgmlType(id);
        const known = typeSize !== undefined && typeSize > 0;
        expect(ggmlTypeInfo(id) && { blockSize: ggmlTypeInfo(id)!.blockSize, typeSize: ggmlTypeInfo(id)!.typeSize }, `type ${id}`).toEqual(
          known ? { blockSize, typeSize } : undefined,
        );
      }
    } finally {
      await llama.dispose();
    }
  });
});
