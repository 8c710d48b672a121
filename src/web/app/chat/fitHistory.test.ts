import { describe, expect, it } from "vitest";
import { fitHistory, textTokens, tokenBound, turnTokens } from "./fitHistory.ts";
import type { StoredMessage } from "./history.ts";

let n = 0;
const msg = (role: "user" | "assistant", content: string, status: StoredMessage["status"] = "done"): StoredMessage => ({ id: `m${n++}`, role, content, createdAt: n, status });

describe("fitHistory: what a turn sends within the model's context", () => {
  it("bounds tokens by UTF-8 bytes plus the template's share, never by characters", () => {
    expect(tokenBound("abc")).toBe(3 + 8);
    expect(tokenBound("é")).toBe(2 + 8); // one character, two bytes: up to two tokens
  });

  it("sends answered turns only: a stopped, cut or interrupted answer and its question stay out", () => {
    const earlier = [
      msg("user", "first"),
      msg("assistant", "one"),
      msg("user", "second"),
      msg("assistant", "half an ans", "incomplete"),
      msg("user", "third"),
      msg("assistant", "", "error"),
      msg("user", "fourth"),
      msg("assistant", "partial", "incomplete"),
      msg("assistant", "four"), // asked again: the complete answer counts
    ];
    const fit = fitHistory(earlier, "fifth", { contextLength: 4096, maxTokens: 100 });
    expect(fit).toEqual({
      ok: true,
      dropped: 0,
      messageTokens: 5,
      counted: false,
      promptTokens: 16 + tokenBound("fifth") + tokenBound("first") + tokenBound("one") + tokenBound("fourth") + tokenBound("four"),
      messages: [
        { role: "user", content: "first" },
        { role: "assistant", content: "one" },
        { role: "user", content: "fourth" },
        { role: "assistant", content: "four" },
        { role: "user", content: "fifth" },
      ],
    });
  });

  it("drops the oldest turns first until the prompt and the answer's room fit, and counts them", () => {
    const earlier = [msg("user", "a".repeat(100)), msg("assistant", "b".repeat(100)), msg("user", "c".repeat(10)), msg("assistant", "d".repeat(10))];
    // room: 300 - 50 = 250; prompt 16 + 8 + 20 = 44; newest turn 36 fits (80), the oldest (216) does not.
    const fit = fitHistory(earlier, "e".repeat(20), { contextLength: 300, maxTokens: 50 });
    expect(fit).toEqual({ ok: true, dropped: 2, promptTokens: 80, messageTokens: 20, counted: false, messages: [{ role: "user", content: "c".repeat(10) }, { role: "assistant", content: "d".repeat(10) }, { role: "user", content: "e".repeat(20) }] });
  });

  it("refuses a prompt that cannot fit with the answer's room, whatever the history", () => {
    expect(fitHistory([], "x".repeat(200), { contextLength: 256, maxTokens: 64 })).toEqual({ ok: false, promptTokens: 16 + 208, room: 256 - 64 - 24, messageTokens: 200, counted: false });
  });

  it("sends the system prompt first with every turn, counts it, and trims history rather than it", () => {
    const earlier = [msg("user", "a".repeat(100)), msg("assistant", "b".repeat(100))];
    const systemPrompt = "s".repeat(50);
    // room: 300 - 50 = 250; prompt 16 + 58 (system) + 28 = 102; the turn (216) no longer fits.
    const fit = fitHistory(earlier, "e".repeat(20), { contextLength: 300, maxTokens: 50, systemPrompt });
    expect(fit).toEqual({ ok: true, dropped: 2, promptTokens: 102, messageTokens: 20, counted: false, messages: [{ role: "system", content: systemPrompt }, { role: "user", content: "e".repeat(20) }] });
    // The room left for a prompt is what the system prompt leaves.
    expect(fitHistory([], "x".repeat(200), { contextLength: 256, maxTokens: 64, systemPrompt })).toEqual({ ok: false, promptTokens: 16 + 58 + 208, room: 256 - 64 - 24 - 58, messageTokens: 200, counted: false });
  });

  it("counts an earlier turn by its answer's receipt: the prompt's input tokens bound the question, the output tokens (with slack) the answer", () => {
    const q = msg("user", "a".repeat(100));
    const receipt = { receiptId: "0x1", cost: "1", provider: "0x2", inputTokens: 30, outputTokens: 20 };
    const a = { ...msg("assistant", "b".repeat(100)), receipt };
    expect(turnTokens(q, a)).toBe(30 + 8 + Math.ceil(20 * 1.1) + 8);
    // Never more than the byte bound: a receipt counting more than the bytes allow is not believed over them.
    expect(turnTokens(q, { ...a, receipt: { ...receipt, inputTokens: 5_000, outputTokens: 5_000 } })).toBe(tokenBound(q.content) + tokenBound(a.content));
    // Without a receipt (imported, or its cost not settled yet), the bytes.
    expect(turnTokens(q, msg("assistant", "b".repeat(100)))).toBe(tokenBound(q.content) + tokenBound("b".repeat(100)));
    // An imported turn without a receipt is counted by the model's tokenizer when the page has it.
    const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
    expect(turnTokens(msg("user", "one two three"), msg("assistant", "four five"), words)).toBe(3 + 8 + 2 + 8);
    // So a turn the byte bound would drop is kept when its receipt says it fits.
    const fit = fitHistory([q, a], "e".repeat(20), { contextLength: 300, maxTokens: 50 });
    expect(fit.ok && fit.dropped).toBe(0);
    expect(fitHistory([q, msg("assistant", "b".repeat(100))], "e".repeat(20), { contextLength: 300, maxTokens: 50 })).toMatchObject({ ok: true, dropped: 2 });
  });

  it("leaves out what an edit replaced: the edited question and everything after it", () => {
    const replaced = (m: StoredMessage): StoredMessage => ({ ...m, replaced: true });
    const earlier = [msg("user", "first"), msg("assistant", "one"), replaced(msg("user", "secnod")), replaced(msg("assistant", "two?")), msg("user", "second"), msg("assistant", "two")];
    const fit = fitHistory(earlier, "third", { contextLength: 4096, maxTokens: 100 });
    expect(fit.ok && fit.messages.map((m) => m.content)).toEqual(["first", "one", "second", "two", "third"]);
    expect(fit.ok && fit.dropped).toBe(0); // replaced messages are not "left out to fit": they are not sendable at all
  });

  it("trims nothing when no provider states a context", () => {
    const earlier = [msg("user", "a".repeat(10_000)), msg("assistant", "b")];
    const fit = fitHistory(earlier, "c", { contextLength: undefined, maxTokens: 200 });
    expect(fit.ok && fit.messages.length).toBe(3);
  });

  describe("with the model's exact token counter", () => {
    // A stand-in for the model's tokenizer: one token per word.
    const words: (text: string) => number = (text) => text.split(/\s+/).filter(Boolean).length;

    it("counts the new message and the system prompt exactly, keeping the template's allowance", () => {
      const prompt = "many words of text ".repeat(20).trim(); // 80 words, 379 bytes
      expect(textTokens(prompt, words)).toEqual({ tokens: 80 + 8, counted: true });
      const fit = fitHistory([], prompt, { contextLength: 256, maxTokens: 64, systemPrompt: "be brief", countTokens: words });
      expect(fit).toEqual({ ok: true, dropped: 0, promptTokens: 16 + (2 + 8) + (80 + 8), messageTokens: 80, counted: true, messages: [{ role: "system", content: "be brief" }, { role: "user", content: prompt }] });
      // The byte bound would have refused it.
      expect(fitHistory([], prompt, { contextLength: 256, maxTokens: 64, systemPrompt: "be brief" })).toMatchObject({ ok: false, counted: false, messageTokens: 379 });
    });

    it("refuses a message whose counted tokens do not fit, with the count and the room", () => {
      const prompt = "word ".repeat(200).trim();
      expect(fitHistory([], prompt, { contextLength: 256, maxTokens: 64, countTokens: words })).toEqual({ ok: false, promptTokens: 16 + 208, room: 256 - 64 - 24, messageTokens: 200, counted: true });
    });

    it("counts earlier turns without receipts with the counter too, and trims them to fit", () => {
      const earlier = [msg("user", "a b c d"), msg("assistant", "e f g h")];
      // Without receipts (imported) the earlier turn is counted too (4 + 8 twice): it fits 100 - 10 - (16 + 8 + 3).
      const fit = fitHistory(earlier, "x y z", { contextLength: 100, maxTokens: 10, countTokens: words });
      expect(fit).toMatchObject({ ok: true, dropped: 0, promptTokens: 16 + 11 + 24, messageTokens: 3, counted: true });
      expect(fitHistory(earlier, "x y z", { contextLength: 60, maxTokens: 10, countTokens: words })).toMatchObject({ ok: true, dropped: 2 });
    });

    it("falls back to the byte bound for a text the counter cannot count, and says so", () => {
      const failing = () => {
        throw new Error("no token for byte 0xff");
      };
      expect(textTokens("abc", failing)).toEqual({ tokens: 3 + 8, counted: false });
      expect(fitHistory([], "abc", { maxTokens: 10, contextLength: 100, countTokens: failing })).toMatchObject({ ok: true, counted: false, messageTokens: 3 });
      // A message counted but a system prompt not: the prompt as a whole is not "counted".
      const onlyShort = (text: string) => (text.length > 5 ? failing() : words(text));
      expect(fitHistory([], "abc", { maxTokens: 10, contextLength: 100, systemPrompt: "a long system prompt", countTokens: onlyShort })).toMatchObject({ ok: true, counted: false, messageTokens: 1 });
    });
  });
});
