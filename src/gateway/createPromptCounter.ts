import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LlamaModel } from "node-llama-cpp";
import type { Hex } from "viem";
import type { Logger } from "../common/logger.ts";
import type { createPromptRenderer, PromptInput } from "../model/createPromptRenderer.ts";
import { hashFile } from "../model/hashFile.ts";
import { promptInputOfBody } from "../protocol/toolsPrompt.ts";
import type { embeddingTokens as EmbeddingTokens } from "../model/embeddingTokens.ts";
import type { EmbeddingInput } from "../protocol/parseEmbeddingRequest.ts";

/**
 * Counts a request's prompt tokens exactly, for models whose GGUF the gateway has at hand: the
 * vocabulary and chat template are in the GGUF header, so the gateway renders the same tokens the
 * provider's engine evaluates and holds a receipt's input count to that number, with no slack.
 */
export type PromptCounter = {
  /** The exact prompt tokens of `body` for the model with these weights; undefined when its tokenizer is not at hand. */
  count(weightsHash: Hex, body: Record<string, unknown>): number | undefined;
  /** The same, for a prompt already parsed (see promptInputOfBody): the gateway parses each request once. */
  countInput(weightsHash: Hex, input: PromptInput): number | undefined;
  /** The exact tokens a provider evaluates to embed `inputs` (see embeddingTokens); undefined when the tokenizer is not at hand. */
  countEmbeddingInput(weightsHash: Hex, inputs: readonly EmbeddingInput[]): number | undefined;
  /** Weights hashes whose tokenizer is loaded. */
  known(): Hex[];
  /** The GGUF file of the model with these weights, when its tokenizer loaded (the web page's tokenizer reads its vocabulary). */
  fileOf(weightsHash: Hex): string | undefined;
  dispose(): Promise<void>;
};

/** The GGUF files directly in `dir` (a GOTONG_HOME's models folder); none when it does not exist. */
export function ggufFilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.toLowerCase().endsWith(".gguf"))
      .map((name) => join(dir, name))
      .filter((path) => statSync(path).isFile());
  } catch {
    return [];
  }
}

/**
 * Loads the tokenizers (vocabulary only: no weights are read into memory) of `files`, keyed by the
 * weights hash the registry knows each file by. A file that cannot be loaded is skipped with a log
 * line: the gateway then falls back to its byte bound for that model.
 */
export async function createPromptCounter(files: readonly string[], logger: Logger): Promise<PromptCounter> {
  const renderers = new Map<string, { model: LlamaModel; render: ReturnType<typeof createPromptRenderer>; path: string }>();
  let embeddingTokens: typeof EmbeddingTokens | undefined;
  if (files.length > 0) {
    // Loaded only when there is a tokenizer to load: a gateway without GGUFs (and the agent SDK's
    // start, `gotong mcp`) never pays for node-llama-cpp's import.
    const [{ getLlama }, { createPromptRenderer }, tokens] = await Promise.all([
      import("node-llama-cpp"),
      import("../model/createPromptRenderer.ts"),
      import("../model/embeddingTokens.ts"),
    ]);
    embeddingTokens = tokens.embeddingTokens;
    const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never, logger: () => {} });
    for (const path of files) {
      try {
        const weightsHash = `0x${await hashFile(path)}`.toLowerCase();
        if (renderers.has(weightsHash)) continue;
        const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
        renderers.set(weightsHash, { model, render: createPromptRenderer(model), path });
        logger.info("counting prompt tokens exactly", { model: path, sha256: weightsHash.slice(2, 14) });
      } catch (error) {
        logger.warn("no exact token counts for a model file", { model: path, error: (error as Error).message });
      }
    }
  }
  const countInput = (weightsHash: Hex, input: PromptInput) => renderers.get(weightsHash.toLowerCase())?.render(input).tokens.length;
  return {
    count(weightsHash, body) {
      const input = promptInputOfBody(body);
      return input && countInput(weightsHash, input);
    },
    countInput,
    countEmbeddingInput(weightsHash, inputs) {
      const model = renderers.get(weightsHash.toLowerCase())?.model;
      const tokensOf = embeddingTokens;
      return model && tokensOf && inputs.reduce((sum, input) => sum + tokensOf(model, input).length, 0);
    },
    known: () => [...renderers.keys()] as Hex[],
    fileOf: (weightsHash) => renderers.get(weightsHash.toLowerCase())?.path,
    async dispose() {
      for (const { model } of renderers.values()) await model.dispose();
      renderers.clear();
    },
  };
}
