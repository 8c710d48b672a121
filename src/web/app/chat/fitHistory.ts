import type { StoredMessage } from "./history.ts";
import type { ChatMessage } from "./sealedChat.ts";

/**
 * Tokens a chat template may add per message (role markers, separators) and once per prompt (the
 * assistant's opening, BOS). Generous on purpose: what the page sends must fit whatever template the
 * provider's engine renders with. These stay an allowance even when the text is counted exactly:
 * the template is rendered by the provider's engine, and how a message's first and last tokens join
 * the markers around it there is not something the page can count.
 */
const TEMPLATE_TOKENS_PER_MESSAGE = 8;
const TEMPLATE_TOKENS_PER_PROMPT = 16;
/**
 * An answer's tokens when its text is read back as part of a prompt, per token its receipt says the
 * model wrote: tokenizing the text again may split it a little differently than it was generated.
 */
const RETOKENIZE_SLACK = 1.1;

/** Counts a text's tokens exactly as the model's tokenizer does (see loadTokenCounter); throws when it cannot. */
export type TokenCounter = (text: string) => number;

/**
 * The most tokens `text` can become: its UTF-8 bytes. Every token of a text stands for at least
 * one byte of it, whatever the tokenizer (the gateway bounds a prompt it cannot tokenize the same
 * way), so a prompt whose bound fits the context certainly fits. (A SentencePiece space prefix
 * adds one token at most, within the template allowance.) This is a bound, not the exact count:
 * see {@link textTokens} for the count when the model's tokenizer is at hand.
 */
export function tokenBound(text: string): number {
  return new TextEncoder().encode(text).length + TEMPLATE_TOKENS_PER_MESSAGE;
}

/**
 * A message's tokens in a prompt: its text counted by the model's tokenizer when `count` is given
 * (and can count it), else bounded by its bytes ({@link tokenBound}), plus the template's allowance
 * per message. `counted` says which.
 */
export function textTokens(text: string, count?: TokenCounter): { tokens: number; counted: boolean } {
  if (count) {
    try {
      return { tokens: count(text) + TEMPLATE_TOKENS_PER_MESSAGE, counted: true };
    } catch {
      // A vocabulary that cannot encode some byte: llama.cpp fails on it too; the bound still holds.
    }
  }
  return { tokens: tokenBound(text), counted: false };
}

/**
 * The most tokens an earlier question and its answer take in a prompt, counted where the answer's
 * receipt counted them: the provider metered the prompt that held the question (its input tokens,
 * which the question and its role markers cannot exceed) and the answer it wrote (its output tokens,
 * with slack for tokenizing the text again). Without a receipt (an imported turn), or when it is
 * more, the text's own count ({@link textTokens}: the model's tokenizer when `count` is given, else
 * the byte bound). A receipt is what the provider was paid for and the gateway checked, so it is a
 * count, not a guess from the text's length.
 */
export function turnTokens(question: StoredMessage, answer: StoredMessage, count?: TokenCounter): number {
  const q = textTokens(question.content, count).tokens;
  const a = textTokens(answer.content, count).tokens;
  const r = answer.receipt;
  if (!r) return q + a;
  return Math.min(q, r.inputTokens + TEMPLATE_TOKENS_PER_MESSAGE) + Math.min(a, Math.ceil(r.outputTokens * RETOKENIZE_SLACK) + TEMPLATE_TOKENS_PER_MESSAGE);
}

/**
 * What {@link fitHistory} sends, and what it left out. `messageTokens` is the new message's own
 * tokens, without the template's allowance; `counted` says whether the new message and the system
 * prompt were counted by the model's tokenizer (else bounded by their bytes).
 */
export type FittedHistory =
  | { ok: true; messages: ChatMessage[]; dropped: number; promptTokens: number; messageTokens: number; counted: boolean }
  | { ok: false; promptTokens: number; room: number; messageTokens: number; counted: boolean };

/**
 * The messages a turn sends: the new prompt, after as much of the earlier conversation as fits the
 * model's context with room for the answer, newest first. Earlier turns are counted by their
 * receipts ({@link turnTokens}); the new prompt and the system prompt, which no receipt has counted
 * yet, by the model's tokenizer when `countTokens` is given, else by their bytes ({@link textTokens}).
 * Only answered turns go: a question whose
 * answer failed, was stopped or cut is left out with its partial answer, so the model never
 * continues from half an answer. Messages an edit replaced are left out too.
 *
 * @param earlier the conversation before this turn's question
 * @param contextLength the model's context in tokens (undefined when no provider states one: no trimming)
 * @param systemPrompt the conversation's instructions, sent first with every turn and counted in its bound
 * @param countTokens the model's exact token counter (see loadTokenCounter); without it, the byte bound
 * @returns the messages and how many earlier ones were left out, or `ok: false` when the prompt
 *   alone cannot fit with the answer's room
 */
export function fitHistory(
  earlier: StoredMessage[],
  prompt: string,
  options: { contextLength?: number; maxTokens: number; systemPrompt?: string; countTokens?: TokenCounter },
): FittedHistory {
  // The system prompt goes with every turn, first: it is never the part trimmed away.
  const system: ChatMessage[] = options.systemPrompt ? [{ role: "system", content: options.systemPrompt }] : [];
  const systemText = options.systemPrompt ? textTokens(options.systemPrompt, options.countTokens) : undefined;
  const systemTokens = systemText?.tokens ?? 0;
  const message = textTokens(prompt, options.countTokens);
  const counted = message.counted && (systemText?.counted ?? true);
  const messageTokens = message.tokens - TEMPLATE_TOKENS_PER_MESSAGE;
  const promptTokens = TEMPLATE_TOKENS_PER_PROMPT + systemTokens + message.tokens;
  const budget = options.contextLength === undefined ? Number.POSITIVE_INFINITY : options.contextLength - options.maxTokens;
  if (promptTokens > budget) {
    return { ok: false, promptTokens, room: Math.max(0, budget - TEMPLATE_TOKENS_PER_PROMPT - systemTokens - TEMPLATE_TOKENS_PER_MESSAGE), messageTokens, counted };
  }
  const turns = answeredTurns(earlier);
  const kept: ChatMessage[] = [];
  let used = promptTokens;
  let keptTurns = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const [question, answer] = turns[i]!;
    const cost = turnTokens(question, answer, options.countTokens);
    if (used + cost > budget) break;
    used += cost;
    keptTurns++;
    kept.unshift({ role: "user", content: question.content }, { role: "assistant", content: answer.content });
  }
  const sendable = turns.length * 2;
  return { ok: true, messages: [...system, ...kept, { role: "user", content: prompt }], dropped: sendable - keptTurns * 2, promptTokens: used, messageTokens, counted };
}

/** Each question with the last complete answer to it; questions with none are skipped. */
function answeredTurns(messages: StoredMessage[]): [StoredMessage, StoredMessage][] {
  const turns: [StoredMessage, StoredMessage][] = [];
  let question: StoredMessage | undefined;
  let answer: StoredMessage | undefined;
  const close = () => {
    if (question && answer) turns.push([question, answer]);
  };
  for (const m of messages) {
    if (m.replaced) continue; // edited away: kept on the page, never sent again
    if (m.role === "user") {
      close();
      question = m;
      answer = undefined;
    } else if (m.status === "done" && m.content) answer = m;
  }
  close();
  return turns;
}
