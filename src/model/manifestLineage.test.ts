import { getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { gotongErrorOf, gotongRejectionOf } from "../../test/helpers/gotongErrorOf.ts";
import { computeWeightsHash } from "./computeWeightsHash.ts";
import { MANIFEST_SCHEMA, type ManifestFile, type ModelManifest } from "./modelManifest.ts";
import { parseRelation, RELATION_CODES, relationOfCode } from "./modelRelation.ts";
import { parseManifest } from "./parseManifest.ts";
import { signManifest } from "./signManifest.ts";
import { verifyManifestSignature } from "./verifyManifestSignature.ts";

const alice = privateKeyToAccount(generatePrivateKey());
const files: ManifestFile[] = [{ path: "m.gguf", sha256: "c".repeat(64), size: 10 }];
const fingerprint = { architecture: "llama", tensorsHash: "d".repeat(64), tensorCount: 3, vocabularyHash: "e".repeat(64), vocabularySize: 32 };

function manifestOf(extra: Partial<ModelManifest> = {}): ModelManifest {
  return {
    schema: MANIFEST_SCHEMA,
    name: "tiny-ft",
    version: "1.0.0",
    format: "gguf",
    files,
    weightsHash: computeWeightsHash(files),
    architecture: "llama",
    license: "MIT",
    royaltyBps: 1000,
    creator: alice.address,
    chainId: 31337,
    modelRegistry: getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3"),
    ...extra,
  };
}

const refusal = (value: unknown) => gotongErrorOf(() => parseManifest(value));

describe("manifest lineage", () => {
  it("accepts parents, datasets and a fingerprint, and signs them with the rest", async () => {
    const manifest = manifestOf({ parents: [{ modelId: "1", relation: "fine-tune", shareBps: 3000 }], datasets: [{ datasetId: "2", shareBps: 1000 }], fingerprint });
    expect(parseManifest(manifest)).toEqual(manifest);
    const signed = await signManifest(alice, manifest);
    expect(await verifyManifestSignature(signed)).toBe(alice.address);
    // A share changed after signing breaks the signature: lineage is part of what the creator signed.
    const altered = { ...signed, manifest: { ...manifest, parents: [{ modelId: "1", relation: "fine-tune" as const, shareBps: 100 }] } };
    expect((await gotongRejectionOf(verifyManifestSignature(altered))).code).toBe("manifest_signature_mismatch");
  });

  it("refuses a stack above 90 % of the royalty, naming the total", () => {
    const error = refusal(manifestOf({ parents: [{ modelId: "1", relation: "merge", shareBps: 5000 }, { modelId: "2", relation: "merge", shareBps: 3000 }], datasets: [{ datasetId: "1", shareBps: 1001 }] }));
    expect(error.code).toBe("manifest_invalid");
    expect(error.message).toContain("9001 bps");
    expect(parseManifest(manifestOf({ parents: [{ modelId: "1", relation: "merge", shareBps: 5000 }], datasets: [{ datasetId: "1", shareBps: 4000 }] })).parents).toHaveLength(1);
  });

  it("refuses a parent named twice, out of order, with a bad id, relation or share", () => {
    const twice = refusal(manifestOf({ parents: [{ modelId: "3", relation: "merge", shareBps: 10 }, { modelId: "3", relation: "merge", shareBps: 10 }] }));
    expect(twice.message).toContain("without duplicates");
    expect(twice.hint).toContain("named twice");
    expect(refusal(manifestOf({ parents: [{ modelId: "10", relation: "merge", shareBps: 1 }, { modelId: "9", relation: "merge", shareBps: 1 }] })).message).toContain("sorted by modelId");
    for (const modelId of ["0", "07", "-1", "1e3", "x", (1n << 256n).toString()]) {
      expect(refusal(manifestOf({ parents: [{ modelId, relation: "merge", shareBps: 1 }] })).param).toBe("parents");
    }
    expect(refusal(manifestOf({ parents: [{ modelId: "1", relation: "copy" as never, shareBps: 1 }] })).message).toContain('"copy"');
    expect(refusal(manifestOf({ parents: [{ modelId: "1", relation: "merge", shareBps: 10_001 }] })).message).toContain("shareBps");
    expect(refusal(manifestOf({ parents: [{ modelId: "1", relation: "merge", shareBps: 1.5 }] })).message).toContain("shareBps");
    expect(refusal(manifestOf({ parents: [] })).message).toContain("1 to 16");
    expect(refusal(manifestOf({ parents: [{ modelId: "1", relation: "merge", shareBps: 1, extra: 1 } as never] })).message).toContain("exactly modelId, relation, shareBps");
    expect(refusal(manifestOf({ datasets: [{ datasetId: "1", shareBps: 1, relation: "merge" } as never] })).message).toContain("exactly datasetId, shareBps");
  });

  it("refuses a fingerprint with unknown or malformed fields", () => {
    expect(refusal(manifestOf({ fingerprint: { ...fingerprint, extra: 1 } as never })).message).toContain('unknown field "extra"');
    expect(refusal(manifestOf({ fingerprint: { ...fingerprint, tensorsHash: "D".repeat(64) } })).message).toContain("tensorsHash");
    expect(refusal(manifestOf({ fingerprint: { architecture: "llama", tensorsHash: "d".repeat(64), tensorCount: 1, vocabularySize: 3 } })).message).toContain("go together");
  });
});

describe("parseRelation", () => {
  it("takes the canonical names and common spellings, and maps them to the registry's codes", () => {
    expect(parseRelation("quantization")).toBe("quantisation");
    expect(parseRelation("Fine-Tune")).toBe("fine-tune");
    expect(parseRelation("lora")).toBe("adapter");
    expect(RELATION_CODES).toEqual({ "fine-tune": 1, merge: 2, quantisation: 3, distillation: 4, adapter: 5 });
    expect(relationOfCode(3)).toBe("quantisation");
    expect(relationOfCode(9)).toBeUndefined();
  });
  it("refuses anything else, listing the relations", () => {
    const error = gotongErrorOf(() => parseRelation("copy"));
    expect(error.code).toBe("invalid_arguments");
    expect(error.hint).toContain("fine-tune, merge, quantisation, distillation, adapter");
  });
});
