import { describe, expect, it } from "vitest";
import { computeModelFingerprint } from "./computeModelFingerprint.ts";
import { encodeGguf, type GgufWriteTensor, type GgufWriteValue } from "./encodeGguf.ts";
import { findFingerprintMatch } from "./findFingerprintMatch.ts";
import { hashModelFingerprint } from "./hashModelFingerprint.ts";
import { parseGgufHeader } from "./parseGgufHeader.ts";

const tokens = (n: number, salt = "") => ({ type: "array" as const, elementType: "string" as const, values: Array.from({ length: n }, (_, i) => `tok${i}${salt}`) });
const f32 = (name: string, dims: number[]): GgufWriteTensor => ({ name, dims, type: 0, data: new Uint8Array(dims.reduce((a, b) => a * b, 1) * 4) });
// Q8_0: blocks of 32 elements in 34 bytes. Same shape, other type and bytes: a quantisation.
const q8 = (name: string, dims: number[]): GgufWriteTensor => ({ name, dims, type: 8, data: new Uint8Array((dims.reduce((a, b) => a * b, 1) / 32) * 34).fill(7) });

function header(options: { tensors: GgufWriteTensor[]; vocabulary?: number; salt?: string; baseModel?: string; architecture?: string }) {
  const entries: (readonly [string, GgufWriteValue])[] = [["general.architecture", options.architecture ?? "llama"]];
  if (options.vocabulary !== undefined) entries.push(["tokenizer.ggml.tokens", tokens(options.vocabulary, options.salt)]);
  if (options.baseModel !== undefined) {
    entries.push(["general.base_model.count", { type: "uint32", value: 1 }]);
    entries.push(["general.base_model.0.name", options.baseModel]);
    entries.push(["general.base_model.0.repo_url", "https://huggingface.co/org/base"]);
  }
  return parseGgufHeader(encodeGguf({ metadata: entries, tensors: options.tensors }), { keepArrays: ["tokenizer.ggml.tokens"] });
}

const layers = (make: typeof f32) => [make("token_embd.weight", [64, 100]), make("blk.0.attn_q.weight", [64, 64]), make("output.weight", [64, 100])];

describe("computeModelFingerprint", () => {
  it("gives a quantisation (same shapes, other types and bytes) the fingerprint of its original", () => {
    const original = computeModelFingerprint([header({ tensors: layers(f32), vocabulary: 100 })])!;
    const quantised = computeModelFingerprint([header({ tensors: layers(q8), vocabulary: 100 })])!;
    expect(quantised).toEqual(original);
    expect(original).toMatchObject({ architecture: "llama", tensorCount: 3, vocabularySize: 100 });
    expect(original.tensorsHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("tells apart other shapes, other tensor names, another vocabulary and another architecture", () => {
    const original = computeModelFingerprint([header({ tensors: layers(f32), vocabulary: 100 })])!;
    expect(computeModelFingerprint([header({ tensors: [...layers(f32).slice(0, 2), f32("output.weight", [64, 96])], vocabulary: 100 })])!.tensorsHash).not.toBe(original.tensorsHash);
    expect(computeModelFingerprint([header({ tensors: [...layers(f32).slice(0, 2), f32("lm_head.weight", [64, 100])], vocabulary: 100 })])!.tensorsHash).not.toBe(original.tensorsHash);
    expect(computeModelFingerprint([header({ tensors: layers(f32), vocabulary: 100, salt: "x" })])!.vocabularyHash).not.toBe(original.vocabularyHash);
    expect(computeModelFingerprint([header({ tensors: layers(f32), vocabulary: 100, architecture: "qwen2" })])!.architecture).toBe("qwen2");
  });

  it("pools the tensors of every shard, whatever their order", () => {
    const [a, b, c] = layers(f32);
    const whole = computeModelFingerprint([header({ tensors: [a!, b!, c!] })])!;
    const split = computeModelFingerprint([header({ tensors: [c!] }), header({ tensors: [b!, a!] })])!;
    expect(split.tensorsHash).toBe(whole.tensorsHash);
  });

  it("reads the general.base_model fields", () => {
    expect(computeModelFingerprint([header({ tensors: layers(f32), baseModel: "Tiny Base" })])!.baseModels).toEqual(["Tiny Base||https://huggingface.co/org/base"]);
  });
});

describe("findFingerprintMatch", () => {
  const original = computeModelFingerprint([header({ tensors: layers(f32), vocabulary: 100 })])!;
  const unrelated = computeModelFingerprint([header({ tensors: [f32("x.weight", [32, 32])], vocabulary: 10 })])!;

  it("finds the oldest registered model with the same fingerprint, and says why", () => {
    const match = findFingerprintMatch(computeModelFingerprint([header({ tensors: layers(q8), vocabulary: 100 })])!, [
      { modelId: 9n, name: "copy", fingerprint: original },
      { modelId: 4n, name: "base", fingerprint: original },
      { modelId: 2n, name: "other", fingerprint: unrelated },
      { modelId: 1n, name: "old", fingerprint: undefined },
    ]);
    expect(match).toEqual({ modelId: 4n, name: "base", reason: "the same architecture (llama), the same 3 tensor names and shapes, the same 100-token vocabulary" });
  });

  it("finds a registered model the GGUF names as its base model, even with other shapes", () => {
    const adapter = computeModelFingerprint([header({ tensors: [f32("lora.weight", [32, 32])], baseModel: "tiny base" })])!;
    expect(findFingerprintMatch(adapter, [{ modelId: 3n, name: "Tiny Base", fingerprint: undefined }])?.modelId).toBe(3n);
  });

  it("matches a model known only by its registered fingerprint hash (published from another machine) as it matches a manifest's", () => {
    const quantised = computeModelFingerprint([header({ tensors: layers(q8), vocabulary: 100 })])!;
    const byHash = findFingerprintMatch(quantised, [
      { modelId: 2n, name: "other", fingerprint: undefined, fingerprintHash: hashModelFingerprint(unrelated) },
      { modelId: 4n, name: "base", fingerprint: undefined, fingerprintHash: hashModelFingerprint(original) },
    ]);
    expect(byHash).toEqual(findFingerprintMatch(quantised, [{ modelId: 4n, name: "base", fingerprint: original }]));
    expect(byHash?.modelId).toBe(4n);
    // The registered hash is what every machine sees: it decides when a manifest says otherwise.
    expect(findFingerprintMatch(quantised, [{ modelId: 4n, name: "base", fingerprint: original, fingerprintHash: hashModelFingerprint(unrelated) }])).toBeUndefined();
  });

  it("still finds a base model by name when no fingerprint matches", () => {
    const adapter = computeModelFingerprint([header({ tensors: [f32("lora.weight", [32, 32])], baseModel: "tiny base" })])!;
    expect(findFingerprintMatch(adapter, [{ modelId: 3n, name: "Tiny Base", fingerprint: undefined, fingerprintHash: hashModelFingerprint(original) }])?.modelId).toBe(3n);
  });

  it("finds nothing for a model unlike every registered one", () => {
    expect(findFingerprintMatch(unrelated, [{ modelId: 1n, name: "base", fingerprint: original }])).toBeUndefined();
  });
});
