import { describe, expect, it } from "vitest";
import { hashModelFingerprint } from "./hashModelFingerprint.ts";
import type { ModelFingerprint } from "./modelManifest.ts";

const fingerprint: ModelFingerprint = { architecture: "llama", tensorsHash: "d".repeat(64), tensorCount: 3, vocabularyHash: "e".repeat(64), vocabularySize: 32 };

describe("hashModelFingerprint", () => {
  it("is keccak256(abi.encode(tag, architecture, tensorsHash, vocabularyHash)), the vector the Forge test pins", () => {
    expect(hashModelFingerprint(fingerprint)).toBe("0x1e96637e75fb13aff3ee1523f1959bdd2bbefb406f194fbe55c7e95b56422d6c");
    expect(hashModelFingerprint({ architecture: "llama", tensorsHash: "d".repeat(64) })).toBe("0x30b74ac79b2603476c6cda0e75bf1a5816c8a77f5addd2a731ad296de1e09a84");
  });

  it("covers exactly the fields of the strong match: not the counts, not the base-model names", () => {
    const hash = hashModelFingerprint(fingerprint);
    const renamed: ModelFingerprint = { ...fingerprint, tensorCount: 4, vocabularySize: 33, baseModels: ["Tiny Base||"] };
    expect(hashModelFingerprint(renamed)).toBe(hash);
    expect(hashModelFingerprint({ ...fingerprint, architecture: "qwen2" })).not.toBe(hash);
    expect(hashModelFingerprint({ ...fingerprint, tensorsHash: "c".repeat(64) })).not.toBe(hash);
    expect(hashModelFingerprint({ ...fingerprint, vocabularyHash: "f".repeat(64) })).not.toBe(hash);
    const { vocabularyHash: _, vocabularySize: __, ...withoutVocabulary } = fingerprint;
    expect(hashModelFingerprint(withoutVocabulary)).not.toBe(hash);
  });
});
