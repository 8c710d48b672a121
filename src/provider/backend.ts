import type { Capability } from "../protocol/capabilities.ts";
import type { GenerationRequest } from "../protocol/generationRequest.ts";
import type { EmbeddingRequest } from "../protocol/parseEmbeddingRequest.ts";

export type FinishReason = "stop" | "length" | "abort";

/**
 * One output token's log probability and its likeliest alternatives, from the distribution it was
 * sampled from. `bytes` are the token's UTF-8 bytes: a character split over several tokens is
 * whole only when their bytes are joined (an alternative that is part of a character has `null`).
 */
export type TokenLogprob = { token: string; logprob: number; bytes: number[]; top: { token: string; logprob: number; bytes: number[] | null }[] };

/** What one choice of a request ended with. */
export type ChoiceEnd = { finishReason: FinishReason; outputTokens: number };

/** Which choice a piece of text belongs to, and the log probabilities of its tokens when asked for. */
export type TextInfo = { choice: number; logprobs?: TokenLogprob[] };

/** A request whose prompt has been rendered and counted, ready to run when a slot is free. */
export type PreparedGeneration = {
  /** Exact number of prompt tokens the model will evaluate (what the user pays for as input). */
  inputTokens: number;
  /** Largest number of output tokens this request may produce, all its choices together. */
  maxOutputTokens: number;
  /** Choices it generates (`n`), one after another. */
  choices: number;
  /**
   * Generates, calling `onText` as text arrives with the number of new tokens it carries and the
   * choice it belongs to. When `onText` (or `onChoiceEnd`) returns a promise (the client's socket is
   * full), generation waits for it before the next token. Stops within a token when `signal`
   * aborts and then reports `abort`; the choices not begun then are not generated.
   */
  run(options: {
    signal: AbortSignal;
    onText: (text: string, tokens: number, info: TextInfo) => void | Promise<void>;
    /** Called as each choice ends, before the next begins. */
    onChoiceEnd?: (choice: number, end: ChoiceEnd) => void | Promise<void>;
  }): Promise<{
    /** How the first choice ended (the only one, unless `n` > 1). */
    finishReason: FinishReason;
    /** Output tokens of all choices together. */
    outputTokens: number;
    /** Each choice's end, in order; fewer than `choices` when aborted. */
    choices: ChoiceEnd[];
    /** Prompt tokens actually evaluated, when only known afterwards (upstream servers); at most `inputTokens`. */
    inputTokens?: number;
  }>;
};

/** An inference engine a provider serves from: embedded llama.cpp, or an upstream server. */
export interface InferenceBackend {
  /** Name of the engine, for `/v1/models` and logs. */
  readonly engine: string;
  /** Maximum tokens of prompt plus output. */
  readonly contextSize: number;
  /** What it can serve; the provider's on-chain offer declares exactly these, and gateways route by them. */
  readonly capabilities: readonly Capability[];
  /** Renders and counts the prompt; throws a 400 GotongError when it cannot fit. */
  prepare(request: GenerationRequest): Promise<PreparedGeneration>;
  /** Tokenizes and counts inputs to embed; only a backend whose capabilities include "embeddings" has it. */
  prepareEmbeddings?(request: EmbeddingRequest): Promise<PreparedEmbeddings>;
  /** Throws when the engine cannot serve now (its weights unloaded); a backend without it is ready until disposed. For readiness. */
  checkReady?(): Promise<void>;
  dispose(): Promise<void>;
}

/** Inputs to embed whose tokens have been counted, ready to run when the engine is free. */
export type PreparedEmbeddings = {
  /** Exact tokens the engine evaluates, all inputs together (what the user pays for; there is no output to pay). */
  inputTokens: number;
  /** Each input's tokens, in order. */
  tokensPerInput: number[];
  /** Length of every vector. */
  dimensions: number;
  /**
   * Embeds the inputs in order: unit-length float32 vectors, as the OpenAI API's. When `signal`
   * aborts it stops between inputs and returns the vectors made so far (the first ones, in order).
   */
  run(options: { signal: AbortSignal }): Promise<Float32Array[]>;
};
