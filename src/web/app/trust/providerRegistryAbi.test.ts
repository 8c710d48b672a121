import { describe, expect, it } from "vitest";
import { ProviderRegistryArtifact } from "../../../chain/contracts.generated.ts";
import { getProviderAbi } from "./providerRegistryAbi.ts";

type AbiParam = { readonly name: string; readonly type: string; readonly components?: readonly AbiParam[] };
const shape = (params: readonly AbiParam[]): unknown => params.map((p) => ({ name: p.name, type: p.type, ...(p.components ? { components: shape(p.components) } : {}) }));

describe("the page's getProvider ABI", () => {
  it("is the compiled ProviderRegistry's (inputs, outputs and struct fields in order)", () => {
    const compiled = (ProviderRegistryArtifact.abi as unknown as readonly { type: string; name?: string; inputs?: readonly AbiParam[]; outputs?: readonly AbiParam[]; stateMutability?: string }[]).find(
      (item) => item.type === "function" && item.name === "getProvider",
    );
    expect(compiled, "ProviderRegistry has no getProvider").toBeDefined();
    const ours = getProviderAbi[0];
    expect(ours.stateMutability).toBe(compiled!.stateMutability);
    expect(shape(ours.inputs)).toEqual(shape(compiled!.inputs!));
    expect(shape(ours.outputs)).toEqual(shape(compiled!.outputs!));
  });
});
