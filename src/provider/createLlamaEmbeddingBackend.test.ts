import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { GotongError } from "../common/errors.ts";
import { embeddingTokens } from "../model/embeddingTokens.ts";
import { sharedModel } from "../../test/fixtures/model/sharedModels.ts";
import type { InferenceBackend, PreparedEmbeddings } from "./backend.ts";
import { createLlamaEmbeddingBackend } from "./createLlamaEmbeddingBackend.ts";

const path = sharedModel("stories260K");

async function refusal(promise: Promise<unknown>): Promise<GotongError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(GotongError);
  return error as GotongError;
}

describe.skipIf(!path)("llama.cpp embeddings of a causal model (stories260K)", () => {
  let backend: InferenceBackend;
  let vocab: LlamaModel;
  const prepare = (inputs: (string | number[])[], dimensions?: number): Promise<PreparedEmbeddings> =>
    backend.prepareEmbeddings!({ model: "m", inputs, encodingFormat: "float", ...(dimensions ? { dimensions } : {}) });
  const run = (prepared: PreparedEmbeddings) => prepared.run({ signal: new AbortController().signal });

  beforeAll(async () => {
    backend = await createLlamaEmbeddingBackend({ modelPath: path!, threads: 1, contextSize: 128 });
    const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never, logger: () => {} });
    vocab = await llama.loadModel({ modelPath: path!, vocabOnly: true });
  }, 60_000);
  afterAll(async () => {
    await backend?.dispose();
    await vocab?.dispose();
  });

  it("declares embeddings only, and refuses chat with a clear 400", async () => {
    expect(backend.capabilities).toEqual(["embeddings"]);
    const error = await refusal(backend.prepare({ kind: "chat", messages: [{ role: "user", content: "hi" }], temperature: 1, stop: [] }));
    expect(error.status).toBe(400);
    expect(error.code).toBe("capability_unavailable");
  });

  it("gives unit vectors of the model's size, the same for the same text, different for another", async () => {
    const prepared = await prepare(["Once upon a time", "Once upon a time", "The dog ran to the big red ball"]);
    expect(prepared.dimensions).toBe(64);
    const [a, b, c] = await run(prepared);
    expect(a!.length).toBe(64);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 5);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("bills each input's tokens exactly as a gateway counts them from the vocabulary alone", async () => {
    const texts = ["Once upon a time", "Lily", "A long sentence, with punctuation; and more words than the others."];
    const prepared = await prepare(texts);
    const counted = texts.map((t) => embeddingTokens(vocab, t).length);
    expect(prepared.tokensPerInput).toEqual(counted);
    expect(prepared.inputTokens).toBe(counted.reduce((x, y) => x + y, 0));
    // The start token is added once, not again when the client sent it.
    expect(embeddingTokens(vocab, [1, 403, 407]).length).toBe(3);
    expect(embeddingTokens(vocab, [403, 407]).length).toBe(3);
  });

  it("embeds token ids as the text they tokenize to", async () => {
    const tokens = vocab.tokenize("Once upon a time", false);
    const [fromTokens, fromText] = await run(await prepare([[...tokens], "Once upon a time"]));
    expect(fromTokens).toEqual(fromText);
  });

  it("refuses token ids outside the vocabulary, an input beyond the context, and dimensions it cannot honour", async () => {
    expect((await refusal(prepare([[1, 512]]))).param).toBe("input");
    expect((await refusal(prepare(["word ".repeat(200)]))).code).toBe("context_length_exceeded");
    const dimensions = await refusal(prepare(["x"], 32));
    expect(dimensions.param).toBe("dimensions");
    expect(dimensions.message).toMatch(/64 dimensions and cannot be shortened to 32/);
    // The model's own size is what it gives anyway: honoured.
    expect((await prepare(["x"], 64)).dimensions).toBe(64);
  });

  it("stops between inputs when aborted, returning the vectors made so far", async () => {
    const abort = new AbortController();
    abort.abort();
    expect(await (await prepare(["a", "b"])).run({ signal: abort.signal })).toEqual([]);
  });
});
