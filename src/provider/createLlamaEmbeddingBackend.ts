import { type LlamaEmbeddingContext, type Token } from "node-llama-cpp";
import { createSlotPool } from "./createSlotPool.ts";
import { loadLlamaModel } from "./loadLlamaModel.ts";
import { GotongError } from "../common/errors.ts";
import { embeddingTokens, vocabularySize } from "../model/embeddingTokens.ts";
import type { EmbeddingRequest } from "../protocol/parseEmbeddingRequest.ts";
import type { InferenceBackend, PreparedEmbeddings } from "./backend.ts";

export type LlamaEmbeddingBackendOptions = {
  modelPath: string;
  /** CPU threads per embedding context. On small shared machines 1 is often fastest; see chooseThreads. */
  threads: number;
  /** Most tokens one input may have, plus one (llama.cpp needs one free position). Default: the model's training context, capped at 4096. */
  contextSize?: number;
  /** Requests embedded at once (one llama.cpp context each). Default 1. */
  parallel?: number;
  /** "auto" uses a GPU when one is present; false forces CPU. Default false. */
  gpu?: "auto" | false;
};

/** The 400 for a request of a kind this backend does not serve. */
export function capabilityRefused(what: string, capability: string, hint: string): GotongError {
  return new GotongError(what, { code: "capability_unavailable", status: 400, param: "model", hint: `${hint} (this offer declares no "${capability}" capability).` });
}

/** `vector` scaled to unit length, as float32 (an all-zero vector stays zero). */
function unitFloat32(vector: readonly number[]): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = norm > 0 ? vector[i]! / norm : 0;
  return out;
}

/**
 * Loads a GGUF into embedded llama.cpp (node-llama-cpp) and serves embeddings from it. The pooling
 * is the model's own (its GGUF's `pooling_type`: mean, CLS or last token); a causal model with none
 * (a chat or completion model such as stories260K) is embedded by its last token's hidden state.
 * Vectors are scaled to unit length, as OpenAI's and llama-server's are.
 *
 * `dimensions` is honoured only at the model's own size: shortening a vector is correct only for
 * models trained for it (Matryoshka), which a GGUF does not declare, so any other value is refused.
 */
export async function createLlamaEmbeddingBackend(options: LlamaEmbeddingBackendOptions): Promise<InferenceBackend> {
  const { model } = await loadLlamaModel(options);
  const contextSize = options.contextSize ?? Math.min(model.trainContextSize, 4096);
  const contexts: LlamaEmbeddingContext[] = [];
  let dimensions: number;
  try {
    for (let i = 0; i < (options.parallel ?? 1); i++) {
      // The whole input in one batch: pooled (mean, CLS) embeddings need every token in one ubatch.
      contexts.push(await model.createEmbeddingContext({ contextSize, batchSize: contextSize, threads: options.threads }));
    }
    // The vector's length as the engine returns it (a model may project its hidden state).
    dimensions = (await contexts[0]!.getEmbeddingFor(embeddingTokens(model, "a"))).vector.length;
  } catch (cause) {
    for (const context of contexts) await context.dispose();
    await model.dispose();
    throw new GotongError(`llama.cpp cannot compute embeddings with ${options.modelPath}: ${(cause as Error).message}`, { code: "model_load_failed", cause });
  }
  const vocabulary = vocabularySize(model);

  const { acquire, release } = createSlotPool(contexts);

  const tokensOf = (request: EmbeddingRequest): Token[][] =>
    request.inputs.map((input, i) => {
      if (typeof input !== "string" && vocabulary !== undefined) {
        const wrong = input.find((token) => token >= vocabulary);
        if (wrong !== undefined) throw new GotongError(`"input" item ${i} holds the token id ${wrong}, outside the model's vocabulary of ${vocabulary}`, { code: "invalid_parameter", param: "input", status: 400 });
      }
      const tokens = embeddingTokens(model, input);
      // llama.cpp embeds an input only when it leaves one position of the context free.
      if (tokens.length >= contextSize) {
        throw new GotongError(`"input" item ${i} is ${tokens.length} tokens; this model embeds at most ${contextSize - 1} per input`, {
          code: "context_length_exceeded",
          param: "input",
          status: 400,
          hint: "Split the text into shorter pieces.",
        });
      }
      return tokens;
    });

  return {
    engine: "llama.cpp",
    contextSize,
    capabilities: ["embeddings"],
    async prepare() {
      throw capabilityRefused("This model is served for embeddings only", "chat", "Use POST /v1/embeddings with it, or pick a chat model for /v1/chat/completions and /v1/completions");
    },
    async prepareEmbeddings(request): Promise<PreparedEmbeddings> {
      if (request.dimensions !== undefined && request.dimensions !== dimensions) {
        throw new GotongError(`This model's embeddings have ${dimensions} dimensions and cannot be shortened to ${request.dimensions}`, {
          code: "invalid_parameter",
          param: "dimensions",
          status: 400,
          hint: `Leave "dimensions" out, or send ${dimensions}: a vector cut short is only meaningful for models trained for it (Matryoshka), and this one does not say it was.`,
        });
      }
      const inputs = tokensOf(request);
      // The count node-llama-cpp will evaluate, which is what is billed (equal to the tokens above
      // unless its rules for start and end tokens change; the gateway counts with the same rules).
      const tokensPerInput = inputs.map((tokens) => contexts[0]!.calculateInputLength(tokens));
      return {
        inputTokens: tokensPerInput.reduce((a, b) => a + b, 0),
        tokensPerInput,
        dimensions,
        async run({ signal }) {
          const context = await acquire(signal);
          if (!context) return [];
          try {
            const vectors: Float32Array[] = [];
            // Stops between inputs when the request is cancelled: what was embedded is answered and billed.
            for (const tokens of inputs) {
              if (signal.aborted) break;
              vectors.push(unitFloat32((await context.getEmbeddingFor(tokens)).vector));
            }
            return vectors;
          } finally {
            release(context);
          }
        },
      };
    },
    async dispose() {
      for (const context of contexts) await context.dispose();
      await model.dispose();
    },
  };
}
