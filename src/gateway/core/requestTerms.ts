import type { Hex } from "viem";
import type { PromptInput } from "../../model/createPromptRenderer.ts";
import { computeCost } from "../../payments/price.ts";
import { promptInputOfBody } from "../../protocol/toolsPrompt.ts";
import type { ReceiptBounds } from "../checkReceipt.ts";
import type { ChannelRecord, PendingRequest } from "../createGatewayStore.ts";
import type { Offer } from "../discoverOffers.ts";

/** Prompt tokens a chat template may add: once per request, and per message. */
const TEMPLATE_TOKENS = 64n;
const TOKENS_PER_MESSAGE = 16n;

/**
 * What the gateway settles for one client request before sending it: the bounds on its bill, the
 * most it can cost (the deposit must cover it), and what copies of it that someone else delivered
 * first have cost so far (paid too, and reported with it).
 */
export type RequestTerms = Omit<ReceiptBounds, "receivedOutputTokens"> & { maxCost: bigint; copiesCost: bigint; choices: number };

/**
 * The most output tokens `bytes` of text can hold: every billed token brought at least one byte of
 * text, and one more may end each choice's sequence (an end-of-text token has no text).
 */
export function outputBound(bytes: number, choices = 1): bigint {
  return BigInt(bytes) + BigInt(choices);
}

/**
 * What a cut stream can be billed for at most: what its text can hold, and no more than the running
 * count the provider itself put on the last event that arrived (a provider is held to its own word;
 * the receipt may add the few tokens still in flight, see IN_FLIGHT_TOKEN_ALLOWANCE).
 */
export function cutBound(bytes: number, lastCount: bigint | undefined, choices = 1): bigint {
  const held = outputBound(bytes, choices);
  return lastCount !== undefined && lastCount < held ? lastCount : held;
}

/** The choices a request asks for (`n`); the provider refuses any value it does not serve. */
function choicesOf(body: Record<string, unknown>): number {
  return Number.isSafeInteger(body.n) && (body.n as number) > 0 ? (body.n as number) : 1;
}

/** The output cap a request names (`max_completion_tokens` or `max_tokens`), if any. */
export function askedOutputOf(body: Record<string, unknown>): number | undefined {
  const cap = Number(body.max_completion_tokens ?? body.max_tokens);
  return Number.isSafeInteger(cap) && cap > 0 ? cap : undefined;
}

/** The record of a request whose receipt has not been dealt with, bounded by its terms. */
export function pendingOf(requestId: Hex, channel: ChannelRecord, terms: RequestTerms, observedOutputTokens: bigint): PendingRequest {
  return { requestId, channelId: channel.channelId, epoch: channel.epoch, observedOutputTokens, maxInputTokens: terms.maxInputTokens, maxOutputTokens: terms.maxOutputTokens };
}

/**
 * The terms of a request, from the request alone. Its bill is bounded by the output it asked for
 * (n choices of max_tokens; without max_tokens, of what the provider's context leaves after the
 * prompt) and by the prompt's size in bytes (every token is at least one byte) plus a chat
 * template's tokens per message; a sealed request the gateway cannot read hides its max_tokens, so
 * its output is bounded by the sealed bytes that arrive and its cost by the whole context. The
 * worst case the deposit must cover counts every byte of the body as a prompt token.
 *
 * @param countPrompt Exact prompt tokens, for models whose tokenizer is at hand.
 * @param contextSize The provider's context size, needed when the request names no max_tokens or is sealed.
 */
export function requestTerms(
  offer: Offer,
  body: Record<string, unknown>,
  raw: Uint8Array,
  opaque: boolean,
  countPrompt: ((weightsHash: Hex, input: PromptInput) => number | undefined) | undefined,
  contextSize?: number,
): RequestTerms {
  const inputWorst = raw.length + Number(TEMPLATE_TOKENS);
  if (opaque) {
    const maxCost = computeCost(offer.price, { inputTokens: inputWorst, outputTokens: contextSize! });
    return { maxOutputTokens: BigInt(Number.MAX_SAFE_INTEGER), maxInputTokens: BigInt(raw.length) + TEMPLATE_TOKENS, maxCost, copiesCost: 0n, choices: 1 };
  }
  const choices = choicesOf(body);
  // With the model's tokenizer at hand the prompt is counted exactly, as the provider renders it;
  // otherwise every token is at least one byte, plus a chat template's few.
  // The prompt is parsed once, as the provider will render it (function descriptions included).
  const input = promptInputOfBody(body);
  const exact = input && countPrompt?.(offer.weightsHash, input);
  let maxInputTokens: bigint;
  if (exact !== undefined) maxInputTokens = BigInt(exact);
  else {
    const messages = Array.isArray(body.messages) ? body.messages : undefined;
    const rendered = input ? (input.kind === "chat" ? JSON.stringify(input.messages) : input.prompt) : JSON.stringify(messages ?? body.prompt ?? "");
    maxInputTokens = BigInt(Buffer.byteLength(rendered)) + TEMPLATE_TOKENS + TOKENS_PER_MESSAGE * BigInt(messages?.length ?? 1);
  }
  // No max_tokens: each choice may run to the context's end, after at least the exact prompt.
  const perChoice = askedOutputOf(body) ?? Math.max(contextSize! - (exact ?? 0), 1);
  const maxOutput = perChoice * choices;
  const maxCost = computeCost(offer.price, { inputTokens: inputWorst, outputTokens: maxOutput });
  return { maxOutputTokens: BigInt(maxOutput), maxInputTokens, maxCost, copiesCost: 0n, choices };
}
