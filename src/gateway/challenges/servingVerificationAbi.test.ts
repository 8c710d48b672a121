import { describe, expect, it } from "vitest";
import { formatAbiItem } from "viem/utils";
import * as generated from "../../chain/contracts.generated.ts";
import { servingVerificationAbi } from "./servingVerificationAbi.ts";

// The gateway's fragments of ServingVerification, checked against the compiled contract once the
// generated artifacts hold it (part A of issue 14 adds it; before that there is nothing to compare).
const artifact = (generated as Record<string, unknown>).ServingVerificationArtifact as { abi: readonly { type: string; name?: string }[] } | undefined;

describe.skipIf(!artifact)("servingVerificationAbi", () => {
  it("declares every function and error exactly as the compiled contract does", () => {
    const compiled = new Map(artifact!.abi.filter((i) => i.type === "function" || i.type === "error").map((i) => [`${i.type} ${i.name}`, formatAbiItem(i as never)]));
    for (const item of servingVerificationAbi) {
      if (item.type !== "function" && item.type !== "error") continue;
      expect(compiled.get(`${item.type} ${item.name}`), `${item.type} ${item.name}`).toBe(formatAbiItem(item));
    }
  });
});
