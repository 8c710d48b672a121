import { type LlamaContextSequence, type LlamaGrammar, type Token } from "node-llama-cpp";
import { createSlotPool } from "./createSlotPool.ts";
import { prioritizeStreams } from "./prioritizeStreams.ts";
import { loadLlamaModel } from "./loadLlamaModel.ts";
import { createPromptRenderer } from "../model/createPromptRenderer.ts";
import { GotongError } from "../common/errors.ts";
import type { ChoiceEnd, InferenceBackend, PreparedGeneration } from "./backend.ts";
import type { GenerationRequest, ResponseFormat } from "../protocol/generationRequest.ts";
import { generateTokens } from "./generateTokens.ts";
import { promptInputOf, toolCallSchema } from "../protocol/toolsPrompt.ts";

export type LlamaBackendOptions = {
  modelPath: string;
  /** CPU threads for generation. On small shared machines 1 is often fastest; see chooseThreads. */
  threads: number;
  /** Context window per sequence. Default: the model's training context, capped at 4096. */
  contextSize?: number;
  /**
   * Requests generated at once: sequences of one llama.cpp context, decoded together in one batch
   * per step, each request taking a sequence as it arrives and freeing it as it ends (continuous
   * batching); further requests wait in line. Default 1; a provider measures it (chooseParallel).
   */
  parallel?: number;
  /**
   * Most tokens evaluated in one step, all sequences together. A newcomer's prompt is evaluated in
   * chunks of about this size, so the streams in flight wait at most about one chunk for their next
   * token instead of the whole prompt. Default 32 (DEFAULT_BATCH_SIZE); at least `parallel`.
   */
  batchSize?: number;
  /** "auto" uses a GPU when one is present; false forces CPU. Default false. */
  gpu?: "auto" | false;
};

/**
 * Tokens evaluated per step by default. bench/batching.ts measures the trade: a smaller step bounds
 * how long a newcomer's prompt holds up the streams in flight (stories260K, a 500-token prompt
 * beside three streams, two runs: 31 and 37 ms at 16, 63 and 137 ms at 32, 188 and 232 ms at 64,
 * about 435 ms unbounded), with little change to the newcomer's own first token on these models;
 * but every step reads all the weights once, so on a model of gigabytes a prompt in small steps
 * takes longer to its first token. llama.cpp's server and vLLM take 512 or more.
 */
export const DEFAULT_BATCH_SIZE = 32;

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

/**
 * Lets an operation that needs the context's lock (clearing a sequence for a newcomer, rewinding one
 * for its next choice) in while other sequences stream. node-llama-cpp decodes a context's batches
 * in one loop that holds that lock for as long as some sequence has a token waiting, and streams in
 * flight ask for their next token before the loop looks again: measured, a newcomer on a free
 * sequence waited for every stream in flight to end (2 to 4 s behind three 600-token answers).
 * While such an operation waits, the streams hold their next request for a token until it is done,
 * so the loop runs dry after the step in progress, the operation takes the lock (it is quick), and
 * the streams and the newcomer go on together in the next step. With nobody waiting, streams pay
 * nothing.
 */
function createLockGate() {
  let waiting = 0;
  let open: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  return {
    async admit<T>(operation: () => Promise<T>): Promise<T> {
      if (waiting++ === 0) closed = new Promise((resolve) => (open = resolve));
      try {
        return await operation();
      } finally {
        if (--waiting === 0) {
          open!();
          closed = undefined;
        }
      }
    },
    /** For a stream before it asks for its next token: what to wait for, when something waits for the lock. */
    beforeNextToken(): Promise<void> | undefined {
      return closed;
    },
  };
}

/** Loads a GGUF into embedded llama.cpp (node-llama-cpp) and serves generations from it. */
export async function createLlamaBackend(options: LlamaBackendOptions): Promise<InferenceBackend> {
  const { llama, model } = await loadLlamaModel(options);
  const trained = model.trainContextSize;
  const contextSize = options.contextSize ?? Math.min(trained, 4096);
  const parallel = options.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new GotongError(`parallel must be a whole number of requests, at least 1, not ${parallel}`, { code: "invalid_arguments", hint: "Pass --parallel 1 or more, or leave it out to have it measured." });
  }
  const context = await model.createContext({
    contextSize,
    sequences: parallel,
    threads: options.threads,
    batchSize: Math.max(options.batchSize ?? DEFAULT_BATCH_SIZE, parallel),
    // A step takes every stream that has a token waiting and gives the rest of the batch to prompts
    // (prioritizeStreams), so a long prompt never crowds out a stream; a step starts on the next
    // turn of the event loop, once the streams served by the last one have asked for their token.
    batching: { dispatchSchedule: "nextCycle", itemPrioritizationStrategy: prioritizeStreams },
  });
  const slots: LlamaContextSequence[] = [];
  for (let i = 0; i < parallel; i++) slots.push(context.getSequence());
  const { acquire, release } = createSlotPool(slots);
  const gate = createLockGate();

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
            // A sequence that has served is emptied for this request; a fresh one needs nothing.
            if (sequence.nextTokenIndex > 0) await gate.admit(() => sequence.clearHistory());
            const ends: ChoiceEnd[] = [];
            for (let choice = 0; choice < choices && !signal.aborted; choice++) {
              // Later choices reuse the prompt in the slot's cache: only its last token is evaluated
              // again, for the logits the first output token is drawn from.
              const input = choice === 0 ? tokens : await gate.admit(() => rewindToPrompt(sequence, tokens));
              // A client's seed gives each choice its own (and the same set of choices every time).
              const seed = request.seed === undefined ? undefined : (request.seed + choice) % 2 ** 32;
              const end = await generateTokens(model, sequence, input, { ...request, maxTokens, seed, stop: [...stopTriggers, ...request.stop] }, signal, (text, n, logprobs) => onText(text, n, { choice, logprobs }), grammar, gate.beforeNextToken);
              ends.push(end);
              const wait = onChoiceEnd?.(choice, end);
              if (wait) await wait;
            }
            return { finishReason: ends[0]?.finishReason ?? "abort", outputTokens: ends.reduce((sum, e) => sum + e.outputTokens, 0), choices: ends };
          } finally {
            // Emptied for the next request now rather than once it has come (and waits for it);
            // one that could not be emptied now is emptied when it is next taken, above.
            if (sequence.nextTokenIndex > 0) {
              void gate
                .admit(() => sequence.clearHistory())
                .catch(() => undefined)
                .finally(() => release(sequence));
            } else release(sequence);
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
