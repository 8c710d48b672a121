/**
 * Batched decoding on the provider (continuous batching: `--parallel N`). Two figures per model:
 *
 * - Aggregate output tokens/s of N concurrent greedy streams through the provider's embedded
 *   backend (createLlamaBackend, as the provider serves from it: slot pool, Gotong's own token loop,
 *   stop matching, billing) divided by node-llama-cpp driven directly with N sequences of one
 *   context and the same engine settings (the engine's own limit), at N = 1, 4, 8 and 16; and the
 *   aggregate at 8 divided by the aggregate at 1 (the gain from batching). Rounds alternate which
 *   side goes first and the ratio is the median of the paired ratios: these machines are shared.
 * - The stall: while three streams are in flight, a newcomer with a long prompt arrives; the
 *   longest gap between two tokens of a stream in flight, from the newcomer's arrival to its first
 *   token, against the streams' usual gap and the newcomer's time to first token, for several
 *   batch sizes (the most prompt tokens evaluated per step).
 *
 *   npx tsx bench/batching.ts     writes bench/results/batching.json (also part of `npm run bench`)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { createLlamaBackend, DEFAULT_BATCH_SIZE } from "../src/provider/createLlamaBackend.ts";
import type { InferenceBackend } from "../src/provider/backend.ts";
import { haveSharedModels, sharedModelPath } from "../test/fixtures/model/sharedModels.ts";
import { median } from "./median.ts";
import { fillReadme } from "./fillReadme.ts";

const LEVELS = [1, 4, 8, 16] as const;
/** Stream beginnings, one per stream in turn, so the sequences of a batch do not all hold the same text. */
const PROMPTS = ["Once upon a time", "The little dog", "Lily and Tom went to the park", "One day, a bird"];
const THREADS = 1;
/** Per sequence: room for the prompts and the output of both parts of the bench. */
const CONTEXT_SIZE = 1024;
const LONG_PROMPT = "Once upon a time there was a little dog named Max. He liked to run in the park with his friends. ".repeat(16);
const BATCH_SIZES = [...new Set([16, 32, 64, 256, 1024, DEFAULT_BATCH_SIZE])].sort((a, b) => a - b);

type Side = { tokens: number; ms: number };

/** N streams at once through the backend; every one must run to `maxTokens` so both sides decode the same amount. */
async function throughBackend(backend: InferenceBackend, n: number, maxTokens: number): Promise<Side> {
  const prepared = await Promise.all(
    Array.from({ length: n }, (_, i) => backend.prepare({ kind: "completion", prompt: PROMPTS[i % PROMPTS.length]!, maxTokens, temperature: 0, stop: [] })),
  );
  const start = performance.now();
  const results = await Promise.all(prepared.map((p) => p.run({ signal: new AbortController().signal, onText: () => {} })));
  return { tokens: results.reduce((sum, r) => sum + r.outputTokens, 0), ms: performance.now() - start };
}

/** The same N streams driven directly: each sequence evaluates its prompt and samples greedily, nothing else. */
async function throughEngine(model: LlamaModel, sequences: import("node-llama-cpp").LlamaContextSequence[], maxTokens: number): Promise<Side> {
  const start = performance.now();
  const counts = await Promise.all(
    sequences.map(async (sequence, i) => {
      await sequence.clearHistory();
      let count = 0;
      for await (const _token of sequence.evaluate(model.tokenize(PROMPTS[i % PROMPTS.length]!, true), { temperature: 0 })) {
        if (++count >= maxTokens) break;
      }
      return count;
    }),
  );
  return { tokens: counts.reduce((a, b) => a + b, 0), ms: performance.now() - start };
}

const rate = (side: Side) => (side.tokens * 1000) / side.ms;

/** Aggregate tokens/s at one concurrency level: backend and engine in alternating rounds. */
export async function benchLevel(model: LlamaModel, modelPath: string, n: number, rounds: number, maxTokens: number) {
  const backend = await createLlamaBackend({ modelPath, threads: THREADS, parallel: n, contextSize: CONTEXT_SIZE });
  const context = await model.createContext({ contextSize: CONTEXT_SIZE, sequences: n, threads: THREADS, batchSize: Math.max(DEFAULT_BATCH_SIZE, n) });
  const sequences = Array.from({ length: n }, () => context.getSequence());
  try {
    // Warm both: the first evaluation of a context allocates its buffers.
    await throughBackend(backend, n, 8);
    await throughEngine(model, sequences, 8);
    const backendRates: number[] = [];
    const engineRates: number[] = [];
    const ratios: number[] = [];
    let shortStreams = 0;
    for (let round = 0; round < rounds; round++) {
      // Which side goes first alternates, so neither always finds the machine as the other left it.
      const backendFirst = round % 2 === 0;
      const early = backendFirst ? await throughBackend(backend, n, maxTokens) : await throughEngine(model, sequences, maxTokens);
      const late = backendFirst ? await throughEngine(model, sequences, maxTokens) : await throughBackend(backend, n, maxTokens);
      const [ours, theirs] = backendFirst ? [early, late] : [late, early];
      // A stream that ended early (the model's end of text) decodes less: noted; the figure is per token.
      if (ours.tokens < n * maxTokens) shortStreams++;
      backendRates.push(rate(ours));
      engineRates.push(rate(theirs));
      ratios.push(rate(ours) / rate(theirs));
    }
    return { streams: n, backendTps: median(backendRates), engineTps: median(engineRates), ratio: median(ratios), roundsWithShortStreams: shortStreams };
  } finally {
    await context.dispose();
    await backend.dispose();
  }
}

/**
 * Three streams in flight, then a newcomer whose prompt is `LONG_PROMPT`: the longest gap of an in-flight
 * stream while the newcomer's prompt is evaluated, the streams' usual gap, and the newcomer's time to first token.
 */
async function benchStall(modelPath: string, batchSize: number, rounds: number) {
  const backend = await createLlamaBackend({ modelPath, threads: THREADS, parallel: 4, contextSize: CONTEXT_SIZE, batchSize });
  try {
    const stalls: number[] = [];
    const usual: number[] = [];
    const ttfts: number[] = [];
    let promptTokens = 0;
    for (let round = 0; round < rounds + 1; round++) {
      const stop = new AbortController();
      const times: number[][] = [[], [], []];
      const inFlight = await Promise.all(times.map((_, i) => backend.prepare({ kind: "completion", prompt: PROMPTS[i]!, maxTokens: 600, temperature: 0, stop: [] })));
      let ended = 0;
      const running = inFlight.map((p, i) => p.run({ signal: stop.signal, onText: () => void times[i]!.push(performance.now()) }).finally(() => ended++));
      // Let the streams settle into their rhythm before the newcomer comes.
      while (times.some((t) => t.length < 30) && !ended) await new Promise((r) => setTimeout(r, 2));
      const newcomer = await backend.prepare({ kind: "completion", prompt: LONG_PROMPT, maxTokens: 4, temperature: 0, stop: [] });
      promptTokens = newcomer.inputTokens;
      const arrived = performance.now();
      let first = 0;
      await newcomer.run({ signal: new AbortController().signal, onText: () => void (first ||= performance.now()) });
      // A few tokens more, so the gap that spans the newcomer's first token is closed.
      const seen = times.map((t) => t.length);
      while (times.some((t, i) => t.length < seen[i]! + 3) && !ended) await new Promise((r) => setTimeout(r, 1));
      if (ended) throw new Error(`batching bench: a stream in flight ended before the newcomer was served; raise its max_tokens`);
      stop.abort();
      await Promise.all(running);
      if (round === 0) continue; // warm-up: the first long prompt allocates the batch's buffers
      let longest = 0;
      const before: number[] = [];
      for (const t of times) {
        for (let k = 1; k < t.length; k++) {
          const gap = t[k]! - t[k - 1]!;
          if (t[k]! > arrived && t[k - 1]! < first) longest = Math.max(longest, gap);
          else if (t[k]! <= arrived) before.push(gap);
        }
      }
      stalls.push(longest);
      usual.push(median(before));
      ttfts.push(first - arrived);
    }
    return { batchSize, promptTokens, stallMs: median(stalls), usualGapMs: median(usual), newcomerTtftMs: median(ttfts) };
  } finally {
    await backend.dispose();
  }
}

export async function benchBatching(options: { rounds?: number; maxTokens?: number } = {}) {
  const rounds = options.rounds ?? 11;
  const maxTokens = options.maxTokens ?? 128;
  if (!haveSharedModels()) return { skipped: "the shared models (stories260K, llama-2-tiny-random) are absent" };
  const llama = await getLlama({ gpu: false, build: "never", logger: () => {} });
  const models = [];
  for (const name of ["stories260K", "tinyRandom"] as const) {
    const modelPath = sharedModelPath(name);
    const model = await llama.loadModel({ modelPath });
    try {
      const levels: Awaited<ReturnType<typeof benchLevel>>[] = [];
      for (const n of LEVELS) {
        levels.push(await benchLevel(model, modelPath, n, rounds, maxTokens));
        console.error(`batching: ${name} ${n} streams, ratio ${levels.at(-1)!.ratio.toFixed(2)}`);
      }
      const at = (n: number) => levels.find((l) => l.streams === n)!;
      const stall: Awaited<ReturnType<typeof benchStall>>[] = [];
      for (const batchSize of BATCH_SIZES) {
        stall.push(await benchStall(modelPath, batchSize, 5));
        console.error(`batching: ${name} stall at batch ${batchSize}: ${stall.at(-1)!.stallMs.toFixed(1)} ms`);
      }
      models.push({
        model: name === "tinyRandom" ? "llama-2-tiny-random" : name,
        levels,
        gain8over1: { backend: at(8).backendTps / at(1).backendTps, engine: at(8).engineTps / at(1).engineTps },
        stall,
      });
    } finally {
      await model.dispose();
    }
  }
  const result = { date: new Date().toISOString(), threads: THREADS, maxTokens, rounds, contextSize: CONTEXT_SIZE, defaultBatchSize: DEFAULT_BATCH_SIZE, goal: "backend ÷ engine ≥ 0.9 at every level", models };
  writeFileSync(join(import.meta.dirname, "results", "batching.json"), JSON.stringify(result, null, 2) + "\n");
  return result;
}

type BatchingResult = Awaited<ReturnType<typeof benchBatching>>;

/** The README's tables of batched decoding. */
export function renderBatchingTable(result: BatchingResult): string {
  if ("skipped" in result) return `_Not measured: ${result.skipped}._`;
  const f = (v: number, digits = 0) => v.toFixed(digits);
  const rows = [
    `_Last run: ${result.date} on ${process.version}; ${result.maxTokens} tokens per stream, greedy, ${result.threads} thread, context ${result.contextSize} per sequence, median of ${result.rounds} alternating rounds._`,
    "",
    "| model | streams | provider's backend, aggregate tok/s | node-llama-cpp, same sequences in one context | ratio | goal |",
    "|---|---|---|---|---|---|",
  ];
  for (const m of result.models) {
    for (const l of m.levels) {
      // Judged as shown, to two decimals.
      const met = Number(l.ratio.toFixed(2)) >= 0.9 ? "" : " (below goal)";
      rows.push(`| ${m.model} | ${l.streams} | ${f(l.backendTps)} | ${f(l.engineTps)} | **${f(l.ratio, 2)}**${met} | ≥ 0.9 |`);
    }
    rows.push(`| ${m.model} | gain from batching, 8 ÷ 1 | **${f(m.gain8over1.backend, 2)}×** | ${f(m.gain8over1.engine, 2)}× | | |`);
  }
  rows.push(
    "",
    `A newcomer's long prompt while three streams are in flight (parallel 4; the default batch is ${result.defaultBatchSize} tokens per step): the longest gap between two tokens of a stream in flight, from the newcomer's arrival to its first token, median of 5 runs.`,
    "",
    "| model | batch (tokens per step) | newcomer's prompt | longest gap in flight | usual gap | newcomer's time to first token |",
    "|---|---|---|---|---|---|",
  );
  for (const m of result.models) {
    for (const s of m.stall) rows.push(`| ${m.model} | ${s.batchSize}${s.batchSize === result.defaultBatchSize ? " (default)" : ""} | ${s.promptTokens} tokens | **${f(s.stallMs, 1)} ms** | ${f(s.usualGapMs, 1)} ms | ${f(s.newcomerTtftMs, 1)} ms |`);
  }
  return rows.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchBatching();
  console.log(JSON.stringify(result, null, 2));
  console.log(renderBatchingTable(result));
  fillReadme("batching-bench", renderBatchingTable(result));
}
