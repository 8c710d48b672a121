import { availableParallelism, freemem } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { DEFAULT_BATCH_SIZE } from "./createLlamaBackend.ts";

/** The most sequences a provider decodes together unless told otherwise (`--parallel`). */
export const MAX_PARALLEL = 16;
/** A larger batch is chosen only when it adds more than this share of throughput over a smaller one. */
const WORTHWHILE_GAIN = 0.1;
/** Share of the memory free now that the context's sequences may take. */
const MEMORY_SHARE = 0.5;

/**
 * Picks how many requests a provider decodes together (sequences of one llama.cpp context sharing
 * a batch) for a model on this machine, by measuring once the aggregate tokens/s of 1, 2, 4, 8 and
 * 16 concurrent streams at the chosen thread count, and remembers the answer in `cacheFile`. It is
 * the smallest count within 10% of the best: what batching gains depends on the model and the
 * cores (measured on 2 cores: stories260K about 2× from 1 to 16 streams, llama-2-tiny-random about
 * 1.2×), and every sequence holds a context's worth of memory. Counts whose context would not fit
 * in half the memory free now (llama.cpp's own estimate) are not tried.
 *
 * @param options.contextSize Context per sequence the provider will serve with (for the memory check).
 * @param options.tokens Tokens each stream generates while measured. Default 24.
 * @returns The number of sequences, 1 to MAX_PARALLEL.
 * @example const parallel = await chooseParallel({ modelPath, weightsHash, threads: 1, contextSize: 2048, cacheFile: join(home.provider, "parallel.json") });
 */
export async function chooseParallel(options: { modelPath: string; weightsHash: string; threads: number; contextSize: number; cacheFile: string; tokens?: number }): Promise<number> {
  const key = `${options.weightsHash}:${availableParallelism()}:${options.threads}`;
  const cache: Record<string, number> = existsSync(options.cacheFile) ? safeParse(readFileSync(options.cacheFile, "utf8")) : {};
  if (cache[key]) return cache[key];
  const llama = await getLlama({ gpu: false, build: "never", logger: () => {} });
  const model = await llama.loadModel({ modelPath: options.modelPath });
  let best: number;
  try {
    const candidates = await fittingCounts(model, options.contextSize);
    const rates = new Map(candidates.map((n) => [n, 0]));
    // Two interleaved rounds, each count's best kept: on a shared machine noise only ever slows a run down.
    for (let round = 0; round < 2; round++) {
      for (const n of candidates) rates.set(n, Math.max(rates.get(n)!, await measureAggregate(model, n, options.threads, options.tokens ?? 24)));
    }
    const top = Math.max(...rates.values());
    best = candidates.find((n) => rates.get(n)! >= top / (1 + WORTHWHILE_GAIN)) ?? 1;
  } finally {
    await model.dispose();
  }
  cache[key] = best;
  writeFileSync(options.cacheFile, JSON.stringify(cache, null, 2) + "\n");
  return best;
}

/** 1, 2, 4, … MAX_PARALLEL, as far as a context of that many sequences fits in memory. */
async function fittingCounts(model: LlamaModel, contextSize: number): Promise<number[]> {
  const counts: number[] = [];
  for (let n = 1; n <= MAX_PARALLEL; n *= 2) {
    const { cpuRam } = await model.fileInsights.estimateContextResourceRequirementsV2({ contextSize, sequences: n, modelGpuLayers: 0, batchSize: Math.max(DEFAULT_BATCH_SIZE, n) });
    if (n > 1 && cpuRam > freemem() * MEMORY_SHARE) break;
    counts.push(n);
  }
  return counts;
}

/** Aggregate tokens/s of `n` greedy streams decoded together in one context, as the provider's backend runs them. */
async function measureAggregate(model: LlamaModel, n: number, threads: number, tokens: number): Promise<number> {
  const context = await model.createContext({ contextSize: 256, sequences: n, threads, batchSize: Math.max(DEFAULT_BATCH_SIZE, n) });
  try {
    const prompt = model.tokenize("Once upon a time", true);
    const start = performance.now();
    // A deadline keeps a pathological setting from stalling start-up.
    const deadline = start + 5_000;
    const counts = await Promise.all(
      Array.from({ length: n }, async () => {
        const sequence = context.getSequence();
        let count = 0;
        for await (const _token of sequence.evaluate(prompt, { temperature: 0 })) {
          if (++count >= tokens || performance.now() > deadline) break;
        }
        return count;
      }),
    );
    return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - start);
  } finally {
    await context.dispose();
  }
}

function safeParse(text: string): Record<string, number> {
  try {
    return JSON.parse(text) as Record<string, number>;
  } catch {
    return {};
  }
}
