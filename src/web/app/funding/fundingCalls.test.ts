import { describe, expect, it } from "vitest";
import { toFunctionSelector } from "viem";
import { QuadraticFundingArtifact } from "../../../chain/contracts.generated.ts";
import { fundingPageAbi } from "./fundingCalls.ts";

type AbiParam = { readonly name: string; readonly type: string; readonly components?: readonly AbiParam[] };
const shape = (params: readonly AbiParam[]): unknown => params.map((p) => ({ type: p.type, ...(p.components ? { components: shape(p.components) } : {}) }));

describe("the funding page's QuadraticFunding ABI", () => {
  for (const ours of fundingPageAbi) {
    it(`${ours.name} is the compiled contract's (selector, inputs, outputs)`, () => {
      const compiled = (QuadraticFundingArtifact.abi as unknown as readonly { type: string; name?: string; inputs?: readonly AbiParam[]; outputs?: readonly AbiParam[] }[]).find((i) => i.type === "function" && i.name === ours.name);
      expect(compiled, `QuadraticFunding has no ${ours.name}`).toBeDefined();
      expect(toFunctionSelector(ours as never)).toBe(toFunctionSelector(compiled as never));
      expect(shape(ours.inputs)).toEqual(shape(compiled!.inputs!));
      expect(shape(ours.outputs)).toEqual(shape(compiled!.outputs!));
    });
  }
});
