import { toEventSelector, toFunctionSelector, type AbiEvent, type AbiFunction } from "viem";
import { describe, expect, it } from "vitest";
import * as generated from "../chain/contracts.generated.ts";
import { validatorAbi } from "./validatorAbi.ts";

const artifact = (generated as Record<string, unknown>).ServingVerificationArtifact as { abi: readonly (AbiFunction | AbiEvent | { type: string; name?: string })[] } | undefined;
if (!artifact) console.warn("Skipping validatorAbi.test.ts: ServingVerification is not in contracts.generated.ts yet (npm run build:contracts).");

const outputs = (f: AbiFunction) => JSON.stringify(f.outputs.map((o) => [o.type, "components" in o ? o.components?.map((c) => c.type) : undefined]));

describe.skipIf(!artifact)("validatorAbi", () => {
  it("matches the compiled ServingVerification: every function and event the validator uses, with their outputs", () => {
    for (const item of validatorAbi) {
      if (item.type === "function") {
        const compiled = artifact!.abi.find((x) => x.type === "function" && x.name === item.name) as AbiFunction | undefined;
        expect(compiled, `function ${item.name}`).toBeDefined();
        expect(toFunctionSelector(compiled!), item.name).toBe(toFunctionSelector(item));
        expect(outputs(compiled!), `${item.name} outputs`).toBe(outputs(item));
      } else if (item.type === "event") {
        const compiled = artifact!.abi.find((x) => x.type === "event" && x.name === item.name) as AbiEvent | undefined;
        expect(compiled, `event ${item.name}`).toBeDefined();
        expect(toEventSelector(compiled!), item.name).toBe(toEventSelector(item));
        expect(compiled!.inputs.map((i) => i.indexed ?? false), `${item.name} indexed`).toEqual((item.inputs as readonly { indexed?: boolean }[]).map((i) => i.indexed ?? false));
      }
    }
  });
});
