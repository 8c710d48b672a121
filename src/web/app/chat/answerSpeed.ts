import type { AnswerTiming } from "./history.ts";

/**
 * How fast an answer came: seconds to its first token, and tokens per second after it. The rate
 * counts the tokens after the first over the time after the first, so the wait for the prompt to be
 * read is not averaged into it; it needs the receipt's token count and at least two tokens.
 *
 * @example answerSpeed({ firstTokenMs: 400, totalMs: 2400 }, 41) // { firstTokenSeconds: 0.4, tokensPerSecond: 20 }
 */
export function answerSpeed(timing: AnswerTiming, outputTokens: number | undefined): { firstTokenSeconds: number; tokensPerSecond: number | undefined } {
  const streamingMs = timing.totalMs - timing.firstTokenMs;
  const tokensPerSecond = outputTokens !== undefined && outputTokens > 1 && streamingMs > 0 ? ((outputTokens - 1) * 1000) / streamingMs : undefined;
  return { firstTokenSeconds: timing.firstTokenMs / 1000, tokensPerSecond };
}

/** The speed as the page says it: "first token 0.40 s · 20.0 tokens/s". */
export function formatAnswerSpeed(timing: AnswerTiming, outputTokens: number | undefined): string {
  const { firstTokenSeconds, tokensPerSecond } = answerSpeed(timing, outputTokens);
  return `first token ${firstTokenSeconds.toFixed(2)} s${tokensPerSecond !== undefined ? ` · ${tokensPerSecond.toFixed(1)} tokens/s` : ""}`;
}
