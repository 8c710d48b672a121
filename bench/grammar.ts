/**
 * The cost of grammar-constrained decoding: tokens per second of the provider's embedded engine
 * with a JSON schema (response_format json_schema, the grammar llama.cpp builds from it) divided
 * by tokens per second without one. Same model, same prompt, same thread count, greedy, rounds
 * interleaved in one process so machine noise falls on both sides alike.
 *
 *   npx tsx bench/grammar.ts     writes bench/results/grammar.json (also part of `npm run bench`)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createLlamaBackend } from "../src/provider/createLlamaBackend.ts";
import type { InferenceBackend } from "../src/provider/backend.ts";
import type { GenerationRequest } from "../src/protocol/generationRequest.ts";
import { chatModel } from "../test/helpers/chatModel.ts";
import { haveSharedModels, sharedModelPath } from "../test/fixtures/model/sharedModels.ts";
import { median } from "./median.ts";
import { fillReadme } from "./fillReadme.ts";

/** A schema with the shapes agents send: strings, a number, an enum and an array of objects. */
const SCHEMA = {
  type: "object",
  properties: {
    title: { type: "string" },
    mood: { enum: ["happy", "sad", "curious"] },
    age: { type: "integer" },
    characters: { type: "array", items: { type: "object", properties: { name: { type: "string" }, role: { type: "string" } }, required: ["name", "role"] } },
    story: { type: "string" },
  },
  required: ["title", "mood", "age", "characters", "story"],
};

type Side = { tokens: number; ms: number };

/** Decoding speed: the time from the first piece of output to the last, over the tokens after the first. */
async function timeRun(backend: InferenceBackend, request: GenerationRequest): Promise<Side> {
  const prepared = await backend.prepare(request);
  let first = 0;
  let last = 0;
  const result = await prepared.run({
    signal: new AbortController().signal,
    onText: () => {
      const now = performance.now();
      if (!first) first = now;
      last = now;
    },
  });
  return { tokens: result.outputTokens, ms: last - first };
}

/** One model's figures: free and schema-constrained decoding, interleaved. */
async function benchModel(model: { name: string; path: string }, rounds: number, maxTokens: number) {
  const backend = await createLlamaBackend({ modelPath: model.path, threads: 1 });
  const prompt = "Once upon a time";
  const free: GenerationRequest = { kind: "completion", prompt, maxTokens, temperature: 0, stop: [] };
  const constrained: GenerationRequest = { ...free, responseFormat: { kind: "json_schema", name: "story", schema: SCHEMA, raw: {} } };
  try {
    await timeRun(backend, free); // warm: first grammar compile and first evaluation are not decoding
    await timeRun(backend, constrained);
    const tps = { free: [] as number[], schema: [] as number[] };
    const tokens = { free: [] as number[], schema: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      for (const [name, request] of [["free", free], ["schema", constrained]] as const) {
        const side = await timeRun(backend, request);
        if (side.tokens < 2 || side.ms <= 0) continue;
        tps[name].push(((side.tokens - 1) * 1000) / side.ms);
        tokens[name].push(side.tokens);
      }
    }
    if (!tps.free.length || !tps.schema.length) throw new Error(`grammar bench: a side produced fewer than two tokens in every round on ${model.name}`);
    return {
      model: model.name,
      freeTps: median(tps.free),
      schemaTps: median(tps.schema),
      freeTokens: median(tokens.free),
      schemaTokens: median(tokens.schema),
      schemaVsFree: median(tps.schema) / median(tps.free),
    };
  } finally {
    await backend.dispose();
  }
}

export async function benchGrammar(options: { rounds?: number; maxTokens?: number } = {}) {
  const rounds = options.rounds ?? 15;
  // Both sides produce the same number of tokens (the schema's JSON is not finished by then), so
  // neither is favoured by a shorter context.
  const maxTokens = options.maxTokens ?? 80;
  const dir = mkdtempSync(join(tmpdir(), "gotong-grammar-bench-"));
  try {
    // The grammar's cost grows with the vocabulary (every candidate token is checked against it):
    // stories260K has 512 tokens, the tiny Llama-2 model Llama-2's 32,000.
    const models = [await chatModel(dir), ...(haveSharedModels() ? [{ name: "llama-2-tiny-random", path: sharedModelPath("tinyRandom") }] : [])];
    const figures = [];
    for (const model of models) figures.push(await benchModel(model, rounds, maxTokens));
    const result = { threads: 1, maxTokens, rounds, models: figures };
    writeFileSync(join(import.meta.dirname, "results", "grammar.json"), JSON.stringify(result, null, 2) + "\n");
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type GrammarResult = Awaited<ReturnType<typeof benchGrammar>>;

/** The README's table of the grammar's cost. */
export function renderGrammarTable(result: GrammarResult): string {
  const rows = [
    `_Last run: ${new Date().toISOString()} on ${process.version}; ${result.maxTokens} tokens, greedy, ${result.threads} thread, median of ${result.rounds} interleaved rounds._`,
    "",
    "| model (vocabulary) | tokens/s with a JSON schema | tokens/s without | ratio |",
    "|---|---|---|---|",
    ...result.models.map((m) => `| ${m.model} (${VOCABULARY[m.model] ?? "?"} tokens) | ${m.schemaTps.toFixed(0)} | ${m.freeTps.toFixed(0)} | **${m.schemaVsFree.toFixed(2)}** |`),
  ];
  return rows.join("\n");
}

const VOCABULARY: Record<string, string> = { stories260K: "512", "llama-2-tiny-random": "32,000", "gotong-test-model": "the generated model's" };

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchGrammar();
  console.log(JSON.stringify(result, null, 2));
  fillReadme("grammar-bench", renderGrammarTable(result));
}
