import { describe, expect, it } from "vitest";
import { GotongError } from "../common/errors.ts";
import { MAX_CHOICES, parseGenerationRequest } from "./parseGenerationRequest.ts";

const chat = (extra: Record<string, unknown>) => parseGenerationRequest("chat", { model: "m", messages: [{ role: "user", content: "hi" }], ...extra });

function refusal(run: () => unknown): { code: string; param?: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof GotongError) return { code: error.code, param: error.param, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("parameters sent with their off value", () => {
  it("accepts what clients send by default", () => {
    for (const extra of [
      { response_format: { type: "text" } },
      { logprobs: false },
      { top_logprobs: 0 },
      { tools: [] },
      { tool_choice: "none" },
      { tool_choice: "auto" },
      { parallel_tool_calls: true },
      { tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }], tool_choice: "required" },
      { store: false },
      { metadata: { app: "x" } },
      { response_format: null, logprobs: null, tools: null },
    ]) {
      expect(() => chat(extra), JSON.stringify(extra)).not.toThrow();
    }
    expect(() => parseGenerationRequest("completion", { model: "m", prompt: "hi", logprobs: 0, store: false })).not.toThrow();
  });

  it("refuses by name what would ask for something not served", () => {
    for (const [extra, param] of [
      [{ response_format: { type: "xml" } }, "response_format"],
      [{ response_format: { type: "json_schema", json_schema: { name: "bad name!", schema: {} } } }, "response_format"],
      [{ logprobs: "yes" }, "logprobs"],
      [{ top_logprobs: 3 }, "top_logprobs"],
      [{ logprobs: true, top_logprobs: 21 }, "top_logprobs"],
      [{ logprobs: true, tools: [{ type: "function", function: { name: "f" } }] }, "logprobs"],
      [{ n: 9 }, "n"],
      [{ n: 0 }, "n"],
      [{ n: 1.5 }, "n"],
      [{ tools: [{ type: "retrieval" }] }, "tools"],
      [{ tool_choice: "required" }, "tool_choice"],
      [{ tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "g" } } }, "tool_choice"],
      [{ store: true }, "store"],
    ] as const) {
      const r = refusal(() => chat(extra));
      expect(r.code).toBe("invalid_parameter");
      expect(r.param).toBe(param);
      expect(r.message).toContain(param);
    }
  });

  it("still refuses parameters it does not know", () => {
    expect(refusal(() => chat({ frobnicate: 1 })).param).toBe("frobnicate");
  });
});

describe("output length, choices and log probabilities", () => {
  it("leaves the output cap open when the request names none: generation runs until the context ends", () => {
    expect(chat({}).maxTokens).toBeUndefined();
    expect(chat({ max_tokens: 7 }).maxTokens).toBe(7);
    expect(chat({ max_completion_tokens: 9, max_tokens: 7 }).maxTokens).toBe(9);
    expect(refusal(() => chat({ max_tokens: 0 })).param).toBe("max_tokens");
  });

  it("takes n from 1 to MAX_CHOICES, 1 by default, and says the limit when refusing", () => {
    expect(chat({}).n).toBe(1);
    expect(chat({ n: 3 }).n).toBe(3);
    expect(parseGenerationRequest("completion", { model: "m", prompt: "hi", n: MAX_CHOICES }).n).toBe(MAX_CHOICES);
    const r = refusal(() => chat({ n: MAX_CHOICES + 1 }));
    expect(r).toMatchObject({ code: "invalid_parameter", param: "n" });
    expect(r.message).toContain(`from 1 to ${MAX_CHOICES}`);
  });

  it("reads chat logprobs with top_logprobs, and completions logprobs N", () => {
    expect(chat({ logprobs: true }).logprobs).toEqual({ top: 0 });
    expect(chat({ logprobs: true, top_logprobs: 20 }).logprobs).toEqual({ top: 20 });
    expect(chat({ logprobs: false, top_logprobs: 0 }).logprobs).toBeUndefined();
    expect(chat({ logprobs: true, tools: [{ type: "function", function: { name: "f" } }], tool_choice: "none" }).logprobs).toEqual({ top: 0 });
    const completion = (extra: Record<string, unknown>) => parseGenerationRequest("completion", { model: "m", prompt: "hi", ...extra });
    expect(completion({ logprobs: 3 }).logprobs).toEqual({ top: 3 });
    expect(completion({ logprobs: 0 }).logprobs).toEqual({ top: 0 });
    expect(completion({ logprobs: null }).logprobs).toBeUndefined();
    expect(refusal(() => completion({ logprobs: 6 })).param).toBe("logprobs");
    expect(refusal(() => completion({ logprobs: true })).param).toBe("logprobs");
  });
});
