import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaCompletion, type Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  generateTestModel,
  TEST_MODEL_BYTES,
  TEST_MODEL_DESCRIPTION,
  TEST_MODEL_FILE_NAME,
  TEST_MODEL_NAME,
  TEST_MODEL_SHA256,
} from "./generateTestModel.ts";
import { hashFile } from "./hashFile.ts";
import { readGgufHeader } from "./readGgufHeader.ts";

let dir: string;
let llama: Llama | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-testmodel-"));
});
afterAll(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe("generateTestModel", () => {
  it("writes the same bytes on every run (and on every machine)", async () => {
    const first = await generateTestModel(join(dir, TEST_MODEL_FILE_NAME));
    const second = await generateTestModel(join(dir, "second.gguf"));
    expect(first.sha256).toBe(second.sha256);
    expect(first.sha256).toBe(TEST_MODEL_SHA256);
    expect(first.bytes).toBe(TEST_MODEL_BYTES);
    expect(await hashFile(second.path)).toBe(TEST_MODEL_SHA256);
    expect(Buffer.compare(await readFile(first.path), await readFile(second.path))).toBe(0);
  });

  it("is labelled as a test model and has the hyperparameters llama.cpp needs", async () => {
    const { path } = await generateTestModel(join(dir, "labelled.gguf"));
    const header = await readGgufHeader(path);
    expect(header.name).toBe(TEST_MODEL_NAME);
    expect(header.metadata.get("general.description")?.value).toBe(TEST_MODEL_DESCRIPTION);
    expect(header.architecture).toBe("llama");
    for (const key of ["embedding_length", "block_count", "feed_forward_length", "attention.head_count", "attention.head_count_kv", "rope.dimension_count", "attention.layer_norm_rms_epsilon", "vocab_size", "context_length"]) {
      expect(header.metadata.has(`llama.${key}`), key).toBe(true);
    }
    expect(header.tensors.every((t) => t.typeName === "F32")).toBe(true);
    expect(header.fileSize).toBeLessThan(1_000_000n);
  });

  it("loads in node-llama-cpp and generates a non-empty completion of several tokens", async () => {
    const { path } = await generateTestModel(join(dir, "run.gguf"));
    llama = await getLlama({ gpu: false, build: "never" });
    const model = await llama.loadModel({ modelPath: path });
    try {
      expect(model.tokenize("Once upon a time")).toHaveLength(4); // word pieces, not bytes
      const context = await model.createContext({ threads: 1, contextSize: 256 });
      const sequence = context.getSequence();
      const completion = new LlamaCompletion({ contextSequence: sequence });
      const tokens: number[] = [];
      const text = await completion.generateCompletion("Once upon a time", { maxTokens: 16, onToken: (chunk) => tokens.push(...chunk) });
      expect(tokens.length).toBeGreaterThanOrEqual(8);
      expect(text.trim().length).toBeGreaterThan(0);
      // Greedy decoding of fixed weights: the same prompt gives the same text every time.
      await sequence.clearHistory();
      expect(await completion.generateCompletion("Once upon a time", { maxTokens: 16 })).toBe(text);
      await context.dispose();
    } finally {
      await model.dispose();
    }
  });
});
