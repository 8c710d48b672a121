import { describe, expect, it } from "vitest";
import { GotongError } from "../common/errors.ts";
import { parseGenerationRequest } from "./parseGenerationRequest.ts";

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
      [{ logprobs: true }, "logprobs"],
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
