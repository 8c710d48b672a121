import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveSharedModels, sharedModelPath } from "../../test/fixtures/model/sharedModels.ts";
import type { InferenceBackend, TokenLogprob } from "./backend.ts";
import type { GenerationRequest } from "../protocol/generationRequest.ts";
import { createLlamaBackend } from "./createLlamaBackend.ts";

const shared = haveSharedModels();
const PROMPTS = ["Once upon a time", "The little dog", "Lily and Tom went to the park", "One day, a bird"];
const request = (prompt: string, maxTokens: number, extra: Partial<GenerationRequest> = {}): GenerationRequest => ({ kind: "completion", prompt, maxTokens, temperature: 0, stop: [], ...extra });

type Run = { text: string; billedInPieces: number; logprobs: TokenLogprob[]; firstAt: number; endAt: number; outputTokens: number; finishReason: string; inputTokens: number };

/** Runs one request to its end (or its abort), noting what a client would receive and when. */
async function run(backend: InferenceBackend, r: GenerationRequest, signal = new AbortController().signal, onPiece?: (tokens: number) => void): Promise<Run> {
  const prepared = await backend.prepare(r);
  const out: Run = { text: "", billedInPieces: 0, logprobs: [], firstAt: 0, endAt: 0, outputTokens: 0, finishReason: "", inputTokens: prepared.inputTokens };
  const result = await prepared.run({
    signal,
    onText: (piece, tokens, { logprobs }) => {
      out.firstAt ||= performance.now();
      out.text += piece;
      out.billedInPieces += tokens;
      out.logprobs.push(...(logprobs ?? []));
      onPiece?.(out.billedInPieces);
    },
  });
  out.endAt = performance.now();
  out.outputTokens = result.outputTokens;
  out.finishReason = result.finishReason;
  return out;
}

describe.skipIf(!shared)("the embedded engine with parallel sequences (continuous batching)", () => {
  let backend: InferenceBackend;
  beforeAll(async () => {
    backend = await createLlamaBackend({ modelPath: sharedModelPath("stories260K"), threads: 1, parallel: 4, contextSize: 1024 });
  }, 60_000);
  afterAll(async () => {
    await backend?.dispose();
  });

  it("decodes overlapping requests together, each with its own prompt's greedy answer", async () => {
    const options = { logprobs: { top: 3 } };
    const alone: Run[] = [];
    for (const prompt of PROMPTS) alone.push(await run(backend, request(prompt, 32, options)));
    const together = await Promise.all(PROMPTS.map((prompt) => run(backend, request(prompt, 32, options))));
    // Decoded at once, not one after another: every stream had begun before any ended.
    const lastStart = Math.max(...together.map((r) => r.firstAt));
    expect(lastStart).toBeLessThan(Math.min(...together.map((r) => r.endAt)));
    expect(new Set(together.map((r) => r.text)).size, "streams of different prompts gave the same text").toBe(PROMPTS.length);
    // llama.cpp does not promise bit-identical logits across batch shapes (a batch's matrix products
    // add in another order), so greedy decoding in a batch equals decoding alone token for token
    // up to the first near-tie, if any; there the two runs may pick different ones of the tied tokens.
    // A stream that got another stream's state would differ at once, and by far.
    for (const [i, batched] of together.entries()) {
      const solo = alone[i]!;
      const at = batched.logprobs.findIndex((entry, k) => entry.token !== solo.logprobs[k]?.token);
      if (at === -1) {
        expect(batched.text).toBe(solo.text);
        continue;
      }
      const tied = batched.logprobs[at]!.top.find((alternative) => alternative.token === solo.logprobs[at]!.token);
      expect(tied, `stream ${i} left its solo answer at token ${at} for a token the solo run did not consider likely`).toBeDefined();
      expect(Math.abs(tied!.logprob - batched.logprobs[at]!.logprob), `stream ${i} diverged at token ${at} without a near-tie`).toBeLessThan(1e-2);
      expect(batched.text.slice(0, 4)).toBe(solo.text.slice(0, 4));
    }
  }, 120_000);

  it("bills every request exactly what it delivered while they share a batch", async () => {
    const lengths = [5, 9, 13, 17, 21, 25, 29, 33];
    // Eight requests for four sequences: half wait in line, all are billed to the token.
    const runs = await Promise.all(lengths.map((maxTokens, i) => run(backend, request(PROMPTS[i % 4]!, maxTokens, { logprobs: { top: 0 } }))));
    for (const [i, r] of runs.entries()) {
      expect(r.outputTokens).toBe(r.billedInPieces);
      expect(r.logprobs).toHaveLength(r.outputTokens);
      if (r.finishReason === "length") expect(r.outputTokens).toBe(lengths[i]);
      else expect(r.outputTokens).toBeLessThan(lengths[i]!);
      expect(r.inputTokens).toBe((await backend.prepare(request(PROMPTS[i % 4]!, 1))).inputTokens);
    }
  }, 120_000);

  it("evaluates a newcomer's long prompt in chunks, so the streams in flight keep getting tokens", async () => {
    const chunked = await createLlamaBackend({ modelPath: sharedModelPath("stories260K"), threads: 1, parallel: 2, contextSize: 1024, batchSize: 16 });
    try {
      const stop = new AbortController();
      const times: number[] = [];
      const inFlight = run(chunked, request(PROMPTS[0]!, 900), stop.signal, () => void times.push(performance.now()));
      while (times.length < 10) await new Promise((r) => setTimeout(r, 2));
      const long = "Once upon a time there was a little dog named Max. He liked to run in the park with his friends. ".repeat(16);
      const arrived = performance.now();
      const newcomer = await run(chunked, request(long, 2));
      stop.abort();
      await inFlight;
      expect(newcomer.inputTokens).toBeGreaterThan(16 * 20);
      // Over 20 steps of 16 tokens: the stream in flight had one token in most of them, not none.
      const during = times.filter((t) => t > arrived && t < newcomer.firstAt).length;
      expect(during, `the stream in flight got ${during} tokens while ${newcomer.inputTokens} prompt tokens were evaluated`).toBeGreaterThanOrEqual(5);
    } finally {
      await chunked.dispose();
    }
  }, 60_000);
});

describe.skipIf(!shared)("more requests than sequences", () => {
  let backend: InferenceBackend;
  beforeAll(async () => {
    backend = await createLlamaBackend({ modelPath: sharedModelPath("stories260K"), threads: 1, parallel: 2, contextSize: 512 });
  }, 60_000);
  afterAll(async () => {
    await backend?.dispose();
  });

  it("wait in line and are served in the order they came, never more at once than there are sequences", async () => {
    let active = 0;
    let most = 0;
    const started: number[] = [];
    // The first ends early, so the sequences free up one at a time: 2 takes the first's, 3 the
    // second's, 4 the one 2 frees.
    const lengths = [8, 24, 24, 24, 24];
    const runs = PROMPTS.concat(PROMPTS[0]!).map((prompt, i) =>
      run(backend, request(prompt, lengths[i]!), undefined, (billed) => {
        if (billed > 0 && !started.includes(i)) {
          started.push(i);
          most = Math.max(most, ++active);
        }
      }).finally(() => active--),
    );
    const done = await Promise.all(runs);
    expect(most).toBe(2);
    // The first two start at once (either first); the rest in arrival order as sequences free up.
    expect(started.slice(2)).toEqual([2, 3, 4]);
    expect(new Set(started.slice(0, 2))).toEqual(new Set([0, 1]));
    for (const r of done) expect(r.outputTokens).toBe(r.billedInPieces);
  }, 120_000);

  it("frees the sequence of a request cancelled mid-batch for the next in line, which joins the streams at once", async () => {
    // Three sequences, so two streams stay in flight: between them the engine's batch loop never
    // runs dry, and clearing the freed sequence must still get its turn (createLockGate).
    const three = await createLlamaBackend({ modelPath: sharedModelPath("stories260K"), threads: 1, parallel: 3, contextSize: 512 });
    try {
      const leaving = new AbortController();
      let delivered = 0;
      const cancelled = run(three, request(PROMPTS[0]!, 400), leaving.signal, (billed) => {
        delivered = billed;
        if (billed >= 5) leaving.abort();
      });
      const staying = [run(three, request(PROMPTS[1]!, 400)), run(three, request(PROMPTS[3]!, 400))];
      // Every sequence is taken: this one waits until the cancelled request lets its sequence go.
      const next = run(three, request(PROMPTS[2]!, 12));
      const [gone, served, ...kept] = await Promise.all([cancelled, next, ...staying]);
      expect(gone.finishReason).toBe("abort");
      expect(gone.outputTokens).toBe(delivered);
      expect(gone.outputTokens).toBe(gone.billedInPieces);
      // Served on the freed sequence while the other two were still generating, not after them.
      expect(served.endAt).toBeLessThan(Math.min(...kept.map((k) => k.endAt)));
      expect(served.outputTokens).toBe(12);
      expect(served.outputTokens).toBe(served.billedInPieces);
      // The freed sequence holds nothing of the cancelled request: the answer is the prompt's own.
      expect(served.text).toBe((await run(three, request(PROMPTS[2]!, 12))).text);
    } finally {
      await three.dispose();
    }
  }, 120_000);

  it("refuses a parallel count that is not a whole number of at least 1, naming it", async () => {
    await expect(createLlamaBackend({ modelPath: sharedModelPath("stories260K"), threads: 1, parallel: 0 })).rejects.toThrow(/parallel must be a whole number of requests, at least 1, not 0/);
  });
});
