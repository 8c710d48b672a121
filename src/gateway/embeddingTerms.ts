import type { Hex } from "viem";
import { computeCost } from "../payments/price.ts";
import { parseEmbeddingInput, type EmbeddingInput } from "../protocol/parseEmbeddingRequest.ts";
import type { Offer } from "./discoverOffers.ts";

/**
 * Tokens a tokenizer may add to one text beyond one per byte: a start and an end token, and the
 * space some vocabularies put before a text (SentencePiece's dummy prefix). Every other token of a
 * text covers at least one of its bytes, whatever the vocabulary.
 */
export const EMBEDDING_TEXT_EXTRA_TOKENS = 4;
/** Tokens added to a list of token ids: a start and an end token at most. */
export const EMBEDDING_TOKENS_EXTRA_TOKENS = 2;

/** Exact tokens of inputs to embed, for models whose tokenizer is at hand (see createPromptCounter). */
export type EmbeddingCounter = (weightsHash: Hex, inputs: readonly EmbeddingInput[]) => number | undefined;

/**
 * What the gateway settles for an embeddings request before sending it, from the request alone: no
 * output tokens at all, and input tokens the tokenizer's exact count when it is at hand, otherwise
 * a bound from the input's bytes (or its token ids). The deposit must cover those input tokens.
 *
 * @example embeddingTerms(offer, { model: "m", input: ["ab", "c"] }) // maxInputTokens 11n, maxOutputTokens 0n
 */
export function embeddingTerms(offer: Offer, body: Record<string, unknown>, count?: EmbeddingCounter) {
  const inputs = parseEmbeddingInput(body.input);
  const exact = count?.(offer.weightsHash, inputs);
  const bound = inputs.reduce((sum, input) => sum + (typeof input === "string" ? Buffer.byteLength(input) + EMBEDDING_TEXT_EXTRA_TOKENS : input.length + EMBEDDING_TOKENS_EXTRA_TOKENS), 0);
  const maxInputTokens = exact ?? bound;
  return {
    maxInputTokens: BigInt(maxInputTokens),
    maxOutputTokens: 0n,
    maxCost: computeCost(offer.price, { inputTokens: maxInputTokens, outputTokens: 0 }),
    copiesCost: 0n,
    choices: 1,
  };
}
