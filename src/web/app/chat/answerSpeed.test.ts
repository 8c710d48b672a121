import { describe, expect, it } from "vitest";
import { answerSpeed, formatAnswerSpeed } from "./answerSpeed.ts";

describe("answerSpeed: time to first token and tokens per second of an answer", () => {
  it("rates the tokens after the first over the time after the first", () => {
    expect(answerSpeed({ firstTokenMs: 400, totalMs: 2400 }, 41)).toEqual({ firstTokenSeconds: 0.4, tokensPerSecond: 20 });
    expect(formatAnswerSpeed({ firstTokenMs: 400, totalMs: 2400 }, 41)).toBe("first token 0.40 s · 20.0 tokens/s");
  });

  it("gives no rate without a token count, for a single token, or with no time after the first", () => {
    expect(answerSpeed({ firstTokenMs: 300, totalMs: 900 }, undefined).tokensPerSecond).toBeUndefined();
    expect(answerSpeed({ firstTokenMs: 300, totalMs: 900 }, 1).tokensPerSecond).toBeUndefined();
    expect(answerSpeed({ firstTokenMs: 300, totalMs: 300 }, 5).tokensPerSecond).toBeUndefined();
    expect(formatAnswerSpeed({ firstTokenMs: 1250, totalMs: 1250 }, 5)).toBe("first token 1.25 s");
  });
});
