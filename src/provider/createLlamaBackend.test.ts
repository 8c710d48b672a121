import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatModel } from "../../test/helpers/chatModel.ts";
import type { InferenceBackend } from "./backend.ts";
import type { GenerationRequest } from "../protocol/generationRequest.ts";
import { createLlamaBackend } from "./createLlamaBackend.ts";

const dir = mkdtempSync(join(tmpdir(), "gotong-llama-"));
let backend: InferenceBackend;

beforeAll(async () => {
  const model = await chatModel(dir);
  backend = await createLlamaBackend({ modelPath: model.path, threads: 1, parallel: 2 });
}, 120_000);
afterAll(async () => {
  await backend?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const base: GenerationRequest = { kind: "completion", prompt: "Once upon a time", maxTokens: 48, temperature: 0, stop: [] };

/** Runs a request to the end, collecting what a client would receive and the tokens billed per piece. */
async function generate(request: GenerationRequest) {
  const prepared = await backend.prepare(request);
  let text = "";
  let piecesTokens = 0;
  const result = await prepared.run({
    signal: new AbortController().signal,
    onText: (piece, tokens) => {
      text += piece;
      piecesTokens += tokens;
    },
  });
  return { text, piecesTokens, ...result };
}

describe("the embedded engine's own token loop", () => {
  it("stops on a stop string with a space in it, across tokens, and never emits it", async () => {
    const free = await generate(base);
    // A two-word phrase from the middle of the deterministic answer: it spans several tokens.
    const words = free.text.split(" ");
    expect(words.length, `the model wrote too little to pick a phrase from: ${JSON.stringify(free.text)}`).toBeGreaterThan(6);
    const stopText = `${words[3]} ${words[4]}`;
    const before = free.text.slice(0, free.text.indexOf(stopText));
    const stopped = await generate({ ...base, stop: [stopText] });
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.text).toBe(before);
    expect(stopped.text).not.toContain(stopText);
    // Billed: the tokens delivered, plus at most the one token that completed the stop string.
    expect(stopped.outputTokens - stopped.piecesTokens).toBeGreaterThanOrEqual(0);
    expect(stopped.outputTokens - stopped.piecesTokens).toBeLessThanOrEqual(1);
    expect(stopped.outputTokens).toBeLessThanOrEqual(Buffer.byteLength(stopped.text) + 1);
  }, 60_000);

  it("stops a chat answer on a stop string that starts with a space", async () => {
    const chat: GenerationRequest = { kind: "chat", messages: [{ role: "user", content: "Tell me a story." }], maxTokens: 48, temperature: 0, stop: [] };
    const free = await generate(chat);
    const at = free.text.indexOf(" ", 8);
    expect(at, `no space to stop at in ${JSON.stringify(free.text)}`).toBeGreaterThan(0);
    const stopText = free.text.slice(at, at + 4);
    const stopped = await generate({ ...chat, stop: [stopText] });
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stopText)));
    expect(stopped.finishReason).toBe("stop");
  }, 60_000);

  it("bills exactly the tokens it delivered when it runs to max_tokens", async () => {
    const result = await generate({ ...base, maxTokens: 20, temperature: 1, seed: 7 });
    if (result.finishReason === "length") expect(result.outputTokens).toBe(20);
    expect(result.piecesTokens).toBe(result.outputTokens);
  }, 60_000);

  it("draws a fresh seed for every request without one, and repeats itself for the same seed", async () => {
    const hot = { ...base, temperature: 1.5, maxTokens: 24 };
    const unseeded = await Promise.all([generate(hot), generate(hot), generate(hot), generate(hot)]);
    expect(new Set(unseeded.map((r) => r.text)).size, "four unseeded requests gave one answer").toBeGreaterThan(1);
    const a = await generate({ ...hot, seed: 1234 });
    const b = await generate({ ...hot, seed: 1234 });
    expect(a.text).toBe(b.text);
  }, 120_000);

  it("evaluates no further token while the client's socket is full", async () => {
    const prepared = await backend.prepare({ ...base, maxTokens: 40 });
    let calls = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const running = prepared.run({
      signal: new AbortController().signal,
      onText: () => {
        calls++;
        // The third piece finds the socket full: generation must wait for it to drain.
        if (calls === 3) return held;
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(3);
    release();
    const result = await running;
    expect(calls).toBeGreaterThan(3);
    expect(result.outputTokens).toBeGreaterThan(3);
  }, 60_000);

  it("stops at once and bills only what was delivered when the client leaves while paused", async () => {
    const prepared = await backend.prepare({ ...base, maxTokens: 40 });
    const abort = new AbortController();
    let delivered = 0;
    const result = await prepared.run({
      signal: abort.signal,
      onText: (_piece, tokens) => {
        delivered += tokens;
        if (delivered >= 2) {
          abort.abort();
          return new Promise<void>((r) => setTimeout(r, 20));
        }
      },
    });
    expect(result.finishReason).toBe("abort");
    expect(result.outputTokens).toBe(delivered);
  }, 60_000);
});

describe("choices, log probabilities and the default output length", () => {
  it("generates n choices in turn in one slot, each billed, the prompt evaluated once and reused exactly", async () => {
    // Greedy: every choice must repeat the first, which holds only if later choices see the same prompt state.
    const greedy = await backend.prepare({ ...base, maxTokens: 24, n: 3 });
    expect(greedy.choices).toBe(3);
    expect(greedy.maxOutputTokens).toBe(72);
    const texts = ["", "", ""];
    const ended: number[] = [];
    const result = await greedy.run({
      signal: new AbortController().signal,
      onText: (piece, _tokens, { choice }) => {
        expect(ended, "text of a choice after it ended").not.toContain(choice);
        texts[choice] += piece;
      },
      onChoiceEnd: (choice) => void ended.push(choice),
    });
    expect(ended).toEqual([0, 1, 2]);
    expect(result.choices).toHaveLength(3);
    expect(texts[0]!.length).toBeGreaterThan(0);
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).toBe(texts[0]);
    expect(result.outputTokens).toBe(result.choices.reduce((sum, c) => sum + c.outputTokens, 0));

    // Sampled with a seed: the choices differ from one another, and the same seed gives the same set.
    const sampled = async () => {
      const prepared = await backend.prepare({ ...base, maxTokens: 24, n: 3, temperature: 1.5, seed: 99 });
      const out = ["", "", ""];
      await prepared.run({ signal: new AbortController().signal, onText: (piece, _t, { choice }) => void (out[choice] += piece) });
      return out;
    };
    const first = await sampled();
    expect(new Set(first).size, "three seeded choices were all the same").toBeGreaterThan(1);
    expect(await sampled()).toEqual(first);
  }, 120_000);

  it("reports each token's log probability and its likeliest alternatives, and they add up to the text", async () => {
    const prepared = await backend.prepare({ ...base, maxTokens: 16, logprobs: { top: 3 } });
    let text = "";
    const entries: import("./backend.ts").TokenLogprob[] = [];
    let billed = 0;
    await prepared.run({
      signal: new AbortController().signal,
      onText: (piece, tokens, { logprobs }) => {
        text += piece;
        billed += tokens;
        entries.push(...(logprobs ?? []));
      },
    });
    expect(entries).toHaveLength(billed);
    expect(Buffer.from(entries.flatMap((e) => e.bytes)).toString("utf8")).toBe(text);
    for (const e of entries) {
      expect(e.logprob).toBeLessThanOrEqual(0);
      expect(e.top).toHaveLength(3);
      // Greedy decoding takes the likeliest token: it leads its own alternatives.
      expect(e.top[0]!.logprob).toBeCloseTo(e.logprob, 5);
      expect(e.top[0]!.token).toBe(e.token);
      expect(e.top[1]!.logprob).toBeLessThanOrEqual(e.top[0]!.logprob);
      expect(e.top.reduce((sum, a) => sum + Math.exp(a.logprob), 0)).toBeLessThanOrEqual(1.000001);
    }
  }, 60_000);

  it("without max_tokens, lets the answer run until the context ends, and a prompt filling it is refused without naming max_tokens", async () => {
    const small = await createLlamaBackend({ modelPath: (await chatModel(dir)).path, threads: 1, contextSize: 64 });
    try {
      const prepared = await small.prepare({ ...base, maxTokens: undefined });
      expect(prepared.maxOutputTokens).toBe(64 - prepared.inputTokens);
      const result = await prepared.run({ signal: new AbortController().signal, onText: () => {} });
      expect(result.outputTokens).toBeLessThanOrEqual(64 - prepared.inputTokens);
      if (result.finishReason === "length") expect(result.outputTokens).toBe(64 - prepared.inputTokens);
      const long = "Once upon a time there was a little dog. ".repeat(20);
      const error = await small.prepare({ ...base, prompt: long, maxTokens: undefined }).then(() => undefined, (e: Error) => e);
      expect(error?.message).toMatch(/The prompt is \d+ tokens, which leaves no room for an answer in the model's context of 64/);
      expect(error?.message).not.toContain("max_tokens");
      const explicit = await small.prepare({ ...base, maxTokens: 200 }).then(() => undefined, (e: Error) => e);
      expect(explicit?.message).toContain("max_tokens 200 plus the prompt's");
    } finally {
      await small.dispose();
    }
  }, 60_000);
});
