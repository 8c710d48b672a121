import { type LlamaContextSequence, type LlamaGrammar, type Token } from "node-llama-cpp";
import { createSlotPool } from "./createSlotPool.ts";
import { loadLlamaModel } from "./loadLlamaModel.ts";
import { createPromptRenderer } from "../model/createPromptRenderer.ts";
import { GotongError } from "../common/errors.ts";
import type { ChoiceEnd, GenerationRequest, InferenceBackend, PreparedGeneration, ResponseFormat } from "./backend.ts";
import { generateTokens } from "./generateTokens.ts";
import { promptInputOf, toolCallSchema } from "../protocol/toolsPrompt.ts";

export type LlamaBackendOptions = {
  modelPath: string;
  /** CPU threads for generation. On small shared machines 1 is often fastest; see chooseThreads. */
  threads: number;
  /** Context window per sequence. Default: the model's training context, capped at 4096. */
  contextSize?: number;
  /** Requests generated at once (llama.cpp sequences). Default 1. */
  parallel?: number;
  /** "auto" uses a GPU when one is present; false forces CPU. Default false. */
  gpu?: "auto" | false;
};

/**
 * Drops a finished choice from the sequence, keeping the prompt but its last token, and returns
 * what to evaluate next (that token). A model whose cache cannot be cut (recurrent ones) starts
 * over and evaluates the whole prompt again.
 */
async function rewindToPrompt(sequence: LlamaContextSequence, prompt: Token[]): Promise<Token[]> {
  try {
    await sequence.eraseContextTokenRanges([{ start: prompt.length - 1, end: sequence.nextTokenIndex }]);
    return prompt.slice(-1);
  } catch {
    await sequence.clearHistory();
    return prompt;
  }
}

/** Loads a GGUF into embedded llama.cpp (node-llama-cpp) and serves generations from it. */
export async function createLlamaBackend(options: LlamaBackendOptions): Promise<InferenceBackend> {
  const { llama, model } = await loadLlamaModel(options);
  const trained = model.trainContextSize;
  const contextSize = options.contextSize ?? Math.min(trained, 4096);
  const parallel = options.parallel ?? 1;
  const context = await model.createContext({ contextSize, sequences: parallel, threads: options.threads });
  const slots: LlamaContextSequence[] = [];
  for (let i = 0; i < parallel; i++) slots.push(context.getSequence());
  const { acquire, release } = createSlotPool(slots);

  const renderPrompt = createPromptRenderer(model);
  const render = (request: GenerationRequest) => renderPrompt(promptInputOf(request));

  // Compiled grammars by schema: an agent sends the same schema with every call.
  const grammars = new Map<string, Promise<LlamaGrammar>>();
  const grammarFor = (format: ResponseFormat): Promise<LlamaGrammar> => {
    const key = format.kind === "json_object" ? "json" : JSON.stringify(format.schema);
    let grammar = grammars.get(key);
    if (!grammar) {
      grammar = (format.kind === "json_object" ? llama.getGrammarFor("json") : llama.createGrammarForJsonSchema(format.schema as never)).catch((cause: unknown) => {
        grammars.delete(key);
        throw new GotongError(`The JSON schema "${format.kind === "json_schema" ? format.name : "json"}" cannot be followed: ${(cause as Error).message}`, {
          code: "invalid_parameter",
          param: "response_format",
          status: 400,
          hint: "llama.cpp's grammars take a subset of JSON Schema: type, properties, required, items, enum, const, anyOf, $defs/$ref; simplify the schema.",
          cause,
        });
      });
      if (grammars.size >= 64) grammars.delete(grammars.keys().next().value!);
      grammars.set(key, grammar);
    }
    return grammar;
  };

  return {
    engine: "llama.cpp",
    contextSize,
    // Function calls and JSON schemas are grammar-constrained, so any chat model can follow them.
    capabilities: ["chat", "tools", "structured_outputs"],
    async prepare(request): Promise<PreparedGeneration> {
      const { tokens, stopTriggers } = render(request);
      const room = contextSize - tokens.length;
      if (room <= 0) {
        throw new GotongError(`The prompt is ${tokens.length} tokens, which leaves no room for an answer in the model's context of ${contextSize}`, {
          code: "context_length_exceeded",
          hint: "Shorten the prompt or the conversation history.",
          status: 400,
        });
      }
      if (request.maxTokens !== undefined && request.maxTokens > room) {
        throw new GotongError(
          `max_tokens ${request.maxTokens} plus the prompt's ${tokens.length} tokens exceeds the model's context of ${contextSize}`,
          { code: "context_length_exceeded", hint: `Ask for at most ${room} tokens, or leave max_tokens out to generate until the context ends.`, status: 400 },
        );
      }
      // No max_tokens: each choice may run until the context ends.
      const maxTokens = request.maxTokens ?? room;
      const choices = request.n ?? 1;
      // Structured output, or a function call the request requires: the grammar keeps it valid JSON of the schema.
      const callSchema = toolCallSchema(request);
      const format = request.responseFormat ?? (callSchema ? { kind: "json_schema" as const, name: "tool_call", schema: callSchema, raw: {} } : undefined);
      const grammar = format ? await grammarFor(format) : undefined;
      return {
        inputTokens: tokens.length,
        maxOutputTokens: maxTokens * choices,
        choices,
        async run({ signal, onText, onChoiceEnd }) {
          const sequence = await acquire(signal);
          // Gone before its turn: nothing was evaluated, nothing is billed.
          if (!sequence) return { finishReason: "abort", outputTokens: 0, inputTokens: 0, choices: [] };
          try {
            await sequence.clearHistory();
            const ends: ChoiceEnd[] = [];
            for (let choice = 0; choice < choices && !signal.aborted; choice++) {
              // Later choices reuse the prompt in the slot's cache: only its last token is evaluated
              // again, for the logits the first output token is drawn from.
              const input = choice === 0 ? tokens : await rewindToPrompt(sequence, tokens);
              // A client's seed gives each choice its own (and the same set of choices every time).
              const seed = request.seed === undefined ? undefined : (request.seed + choice) % 2 ** 32;
              const end = await generateTokens(model, sequence, input, { ...request, maxTokens, seed, stop: [...stopTriggers, ...request.stop] }, signal, (text, n, logprobs) => onText(text, n, { choice, logprobs }), grammar);
              ends.push(end);
              const wait = onChoiceEnd?.(choice, end);
              if (wait) await wait;
            }
            return { finishReason: ends[0]?.finishReason ?? "abort", outputTokens: ends.reduce((sum, e) => sum + e.outputTokens, 0), choices: ends };
          } finally {
            release(sequence);
          }
        },
      };
    },
    async checkReady() {
      if (model.disposed || context.disposed) throw new Error(`the model ${options.modelPath} is unloaded`);
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}
