import { availableParallelism } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { getLlama, LlamaCompletion } from "node-llama-cpp";

/**
 * Picks the fastest CPU thread count for a model on this machine by measuring it once, and
 * remembers the answer in `cacheFile`. On small shared machines one thread can be hundreds of
 * times faster than llama.cpp's default (measured: stories260K on 2 cores, 1,300 vs 2 tokens/s),
 * so this is a measurement, not a guess.
 */
export async function chooseThreads(options: { modelPath: string; weightsHash: string; cacheFile: string; tokens?: number }): Promise<number> {
  const cores = availableParallelism();
  const key = `${options.weightsHash}:${cores}`;
  const cache: Record<string, number> = existsSync(options.cacheFile) ? safeParse(readFileSync(options.cacheFile, "utf8")) : {};
  if (cache[key]) return cache[key];
  const candidates = [...new Set([1, 2, Math.max(1, Math.floor(cores / 2)), cores].filter((n) => n >= 1 && n <= cores))].sort((a, b) => a - b);
  const llama = await getLlama({ gpu: false, build: "never", logger: () => {} });
  const model = await llama.loadModel({ modelPath: options.modelPath });
  let best = 1;
  let bestRate = 0;
  try {
    for (const threads of candidates) {
      const context = await model.createContext({ threads, contextSize: 256 });
      try {
        const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
        const start = performance.now();
        let tokens = 0;
        // A deadline keeps a pathological setting from stalling start-up.
        const signal = AbortSignal.timeout(5_000);
        await completion.generateCompletion("Once upon a time", {
          maxTokens: options.tokens ?? 32,
          temperature: 0,
          signal,
          stopOnAbortSignal: true,
          onToken: (t) => {
            tokens += t.length;
          },
        });
        const rate = tokens / ((performance.now() - start) / 1000);
        if (rate > bestRate) {
          bestRate = rate;
          best = threads;
        }
      } finally {
        await context.dispose();
      }
    }
  } finally {
    await model.dispose();
  }
  cache[key] = best;
  writeFileSync(options.cacheFile, JSON.stringify(cache, null, 2) + "\n");
  return best;
}

function safeParse(text: string): Record<string, number> {
  try {
    return JSON.parse(text) as Record<string, number>;
  } catch {
    return {};
  }
}
