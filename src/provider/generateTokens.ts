import { randomInt } from "node:crypto";
import { LlamaGrammarEvaluationState, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";
import type { FinishReason, TokenLogprob } from "./backend.ts";
import type { GenerationRequest } from "../protocol/generationRequest.ts";
import { createStopMatcher } from "./createStopMatcher.ts";
import { createJsonEndDetector } from "./createJsonEndDetector.ts";

/** Tokens of earlier output handed to the detokenizer so a piece's leading space comes out right. */
const DETOKENIZE_CONTEXT = 8;
/** Output tokens a repetition or presence/frequency penalty looks back on (llama.cpp's default). */
const PENALTY_WINDOW = 64;
/** What node-llama-cpp's detokenizer gives for bytes that are not yet a whole UTF-8 character. */
const INCOMPLETE_CHARACTER = "\uFFFD";
/** The log probability reported for a token the distribution gives no weight (as the OpenAI API does). */
const LOWEST_LOGPROB = -9999;

/**
 * Gotong's own token loop over a llama.cpp sequence, rather than node-llama-cpp's completion helper,
 * for three things a paid API needs:
 * - backpressure: the next token is evaluated only after `onText` has returned (and, when it returns
 *   a promise, after that settles), so a client whose socket is full pauses its generation instead
 *   of being billed for text it never read;
 * - stop strings matched on the detokenized text across token boundaries (`createStopMatcher`);
 * - sampling exactly as the OpenAI API defines it when a parameter is omitted (no top-k, top-p 1,
 *   no repetition penalty), seeded from a CSPRNG unless the client sends a `seed`.
 *
 * Billing: each emitted piece carries the tokens that produced it. Tokens whose text was held back
 * and then turned out to be a stop string are not delivered, and are billed as the one token that
 * ended generation, so a receipt never claims more tokens than the text delivered can hold.
 *
 * Log probabilities (`request.logprobs`) are those of the distribution each token was sampled
 * from, as llama.cpp's sampler chain left it (penalties, grammar, top-k/top-p/min-p, temperature);
 * at temperature 0 that is the model's own distribution. They travel with the text of their tokens.
 */
export async function generateTokens(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  prompt: Token[],
  request: GenerationRequest & { maxTokens: number },
  signal: AbortSignal,
  onText: (text: string, tokens: number, logprobs?: TokenLogprob[]) => void | Promise<void>,
  /** A JSON grammar the output must follow (structured outputs); generation ends where the JSON value does. */
  grammar?: LlamaGrammar,
  /** Awaited (when it returns a promise) before each next token is asked for: how a batch lets a newcomer in (createLlamaBackend). */
  beforeNextToken?: () => Promise<void> | undefined,
): Promise<{ finishReason: FinishReason; outputTokens: number }> {
  const generated: Token[] = [];
  const partial: Token[] = [];
  const stop = createStopMatcher(request.stop);
  let billed = 0;
  let unbilled = 0;
  const penalised = request.presencePenalty || request.frequencyPenalty || (request.repeatPenalty !== undefined && request.repeatPenalty !== 1);
  const jsonEnd = grammar ? createJsonEndDetector() : undefined;
  // Each token's log probability, until its text is emitted (see `emit`).
  const top = request.logprobs?.top;
  const logprobs: TokenLogprob[] = [];
  const pendingChances: { token: Token; chance: number; alternatives?: Map<Token, number> }[] = [];
  const tokens = sequence.evaluateWithMetadata(prompt, top === undefined ? {} : { confidence: true, probabilities: top > 0 }, {
    grammarEvaluationState: grammar ? new LlamaGrammarEvaluationState({ model, grammar }) : undefined,
    temperature: request.temperature,
    topK: request.topK ?? 0,
    topP: request.topP ?? 1,
    minP: request.minP ?? 0,
    seed: request.seed ?? randomInt(2 ** 32 - 1),
    repeatPenalty: penalised
      ? {
          punishTokens: () => generated.slice(-PENALTY_WINDOW),
          maxPunishTokens: PENALTY_WINDOW,
          penalty: request.repeatPenalty ?? 1,
          presencePenalty: request.presencePenalty,
          frequencyPenalty: request.frequencyPenalty,
        }
      : undefined,
  });
  // Not async: a promise per token would cost microtask turns before the next token is asked for,
  // and in a batch a stream that asks later than the others misses the engine's next step.
  const emit = (text: string): void | Promise<void> => {
    if (!text) return;
    billed += unbilled;
    const n = unbilled;
    unbilled = 0;
    return onText(text, n, top === undefined ? undefined : logprobs.splice(0));
  };
  /** Log probabilities of the tokens of `text` (one character group, or one token), for `emit`. */
  const describe = (text: string, context: Token[]) => {
    const chances = pendingChances.splice(0);
    const bytes = [...Buffer.from(text)];
    chances.forEach(({ token, chance, alternatives }, i) => {
      // A character split over several tokens: byte-fallback tokens carry one byte each; a split
      // that cannot be told puts the character's bytes on its last token.
      const one = chances.length === 1 ? bytes : bytes.length === chances.length ? [bytes[i]!] : i === chances.length - 1 ? bytes : [];
      // The map holds the whole vocabulary, likeliest first: only its head is read.
      const alternativesOf: TokenLogprob["top"] = [];
      for (const [t, p] of alternatives ?? []) {
        if (alternativesOf.length >= top!) break;
        const piece = model.detokenize([t], false, context);
        alternativesOf.push({ token: piece, logprob: logOf(p), bytes: piece.includes(INCOMPLETE_CHARACTER) ? null : [...Buffer.from(piece)] });
      }
      logprobs.push({ token: chances.length === 1 ? text : tokenText(one), logprob: logOf(chance), bytes: one, top: alternativesOf });
    });
  };
  try {
    if (signal.aborted) return { finishReason: "abort", outputTokens: 0 };
    for await (const { token, confidence, probabilities } of tokens as AsyncGenerator<{ token: Token; confidence?: number; probabilities?: Map<Token, number> }>) {
      if (signal.aborted) return { finishReason: "abort", outputTokens: billed };
      unbilled++;
      partial.push(token);
      if (top !== undefined) pendingChances.push({ token, chance: confidence ?? probabilities?.get(token) ?? 0, alternatives: probabilities });
      const context = generated.slice(-DETOKENIZE_CONTEXT);
      const text = model.detokenize(partial, false, context);
      // A token can end inside a multi-byte character: wait for the rest before emitting it.
      const incomplete = text.endsWith(INCOMPLETE_CHARACTER) && partial.length < 4 && !model.isSpecialToken(token);
      if (!incomplete) {
        if (top !== undefined) describe(text, context);
        generated.push(...partial);
        partial.length = 0;
        // Structured output ends with its JSON value: what the grammar would still allow after it is whitespace.
        const valueEnd = jsonEnd?.push(text);
        const { emit: ready, stopped } = stop.push(valueEnd === undefined ? text : text.slice(0, valueEnd));
        const written = emit(valueEnd === undefined ? ready : ready + stop.flush());
        if (written) await written;
        if (stopped) return { finishReason: "stop", outputTokens: billed + Math.min(unbilled, 1) };
        if (valueEnd !== undefined) return { finishReason: "stop", outputTokens: billed + unbilled };
      }
      if (signal.aborted) return { finishReason: "abort", outputTokens: billed };
      if (billed + unbilled >= request.maxTokens) {
        await emit(stop.flush());
        return { finishReason: "length", outputTokens: billed + unbilled };
      }
      const wait = beforeNextToken?.();
      if (wait) await wait;
      if (signal.aborted) return { finishReason: "abort", outputTokens: billed };
    }
    // The model ended its answer (an end-of-generation token, which is never yielded nor billed).
    await emit(stop.flush());
    return { finishReason: "stop", outputTokens: billed + unbilled };
  } finally {
    await tokens.return();
  }
}

/** A probability as the API reports it: its natural log, never -Infinity. */
function logOf(p: number): number {
  return p > 0 ? Math.max(Math.log(p), LOWEST_LOGPROB) : LOWEST_LOGPROB;
}

/** A token's text as the OpenAI API writes a token that is not whole UTF-8 by itself: its bytes as `\\xHH`. */
function tokenText(bytes: number[]): string {
  const text = Buffer.from(bytes).toString("utf8");
  return text.includes(INCOMPLETE_CHARACTER) ? bytes.map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("") : text;
}
