import type { StoredMessage } from "./history.ts";
import type { ChatMessage } from "./sealedChat.ts";

/**
 * Tokens a chat template may add per message (role markers, separators) and once per prompt (the
 * assistant's opening). Generous on purpose: what the page sends must fit whatever template the
 * provider's engine renders with.
 */
const TEMPLATE_TOKENS_PER_MESSAGE = 8;
const TEMPLATE_TOKENS_PER_PROMPT = 16;

/**
 * The most tokens `text` can become: its UTF-8 bytes. Every token of a text stands for at least
 * one byte of it, whatever the tokenizer (the gateway bounds a prompt it cannot tokenize the same
 * way), so a prompt whose bound fits the context certainly fits. The page does not have the
 * model's tokenizer, so this is a bound, not the exact count.
 */
export function tokenBound(text: string): number {
  return new TextEncoder().encode(text).length + TEMPLATE_TOKENS_PER_MESSAGE;
}

/** What {@link fitHistory} sends, and what it left out. */
export type FittedHistory =
  | { ok: true; messages: ChatMessage[]; dropped: number; promptTokens: number }
  | { ok: false; promptTokens: number; room: number };

/**
 * The messages a turn sends: the new prompt, after as much of the earlier conversation as fits the
 * model's context with room for the answer, newest first. Only answered turns go: a question whose
 * answer failed, was stopped or cut is left out with its partial answer, so the model never
 * continues from half an answer.
 *
 * @param earlier the conversation before this turn's question
 * @param contextLength the model's context in tokens (undefined when no provider states one: no trimming)
 * @param systemPrompt the conversation's instructions, sent first with every turn and counted in its bound
 * @returns the messages and how many earlier ones were left out, or `ok: false` when the prompt
 *   alone cannot fit with the answer's room
 */
export function fitHistory(earlier: StoredMessage[], prompt: string, options: { contextLength?: number; maxTokens: number; systemPrompt?: string }): FittedHistory {
  // The system prompt goes with every turn, first: it is never the part trimmed away.
  const system: ChatMessage[] = options.systemPrompt ? [{ role: "system", content: options.systemPrompt }] : [];
  const systemTokens = options.systemPrompt ? tokenBound(options.systemPrompt) : 0;
  const promptTokens = TEMPLATE_TOKENS_PER_PROMPT + systemTokens + tokenBound(prompt);
  const budget = options.contextLength === undefined ? Number.POSITIVE_INFINITY : options.contextLength - options.maxTokens;
  if (promptTokens > budget) return { ok: false, promptTokens, room: Math.max(0, budget - TEMPLATE_TOKENS_PER_PROMPT - systemTokens - TEMPLATE_TOKENS_PER_MESSAGE) };
  const turns = answeredTurns(earlier);
  const kept: ChatMessage[] = [];
  let used = promptTokens;
  let keptTurns = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const [question, answer] = turns[i]!;
    const cost = tokenBound(question.content) + tokenBound(answer.content);
    if (used + cost > budget) break;
    used += cost;
    keptTurns++;
    kept.unshift({ role: "user", content: question.content }, { role: "assistant", content: answer.content });
  }
  const sendable = turns.length * 2;
  return { ok: true, messages: [...system, ...kept, { role: "user", content: prompt }], dropped: sendable - keptTurns * 2, promptTokens: used };
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
    if (m.role === "user") {
      close();
      question = m;
      answer = undefined;
    } else if (m.status === "done" && m.content) answer = m;
  }
  close();
  return turns;
}
