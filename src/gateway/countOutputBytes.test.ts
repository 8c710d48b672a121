import { describe, expect, it } from "vitest";
import { TOOL_CALL_ENVELOPE_BYTES } from "../protocol/toolsPrompt.ts";
import { answerOutputBytes, chunkOutputBytes } from "./countOutputBytes.ts";

describe("the output bytes a gateway counts to bound a receipt", () => {
  it("counts every choice of a whole answer, text and function calls", () => {
    const call = { id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } };
    const answer = {
      choices: [
        { index: 0, message: { role: "assistant", content: "héllo" } },
        { index: 1, message: { role: "assistant", content: null, tool_calls: [call] } },
        { index: 2, message: { role: "assistant", content: "" } },
      ],
    };
    expect(answerOutputBytes(answer)).toBe(6 + 1 + 7 + TOOL_CALL_ENVELOPE_BYTES);
    expect(answerOutputBytes({ choices: [{ index: 0, text: "ab" }, { index: 1, text: "cde" }] })).toBe(5);
    expect(answerOutputBytes({})).toBe(0);
  });

  it("counts every choice of a streamed event, whichever index it names", () => {
    expect(chunkOutputBytes({ choices: [{ index: 1, delta: { content: "abc" } }] })).toBe(3);
    expect(chunkOutputBytes({ choices: [{ index: 0, delta: { content: "ab" } }, { index: 1, delta: { content: "cd" } }] })).toBe(4);
    expect(chunkOutputBytes({ choices: [{ index: 3, delta: { tool_calls: [{ index: 0, id: "call_1", function: { name: "fn", arguments: "" } }] } }] })).toBe(2 + TOOL_CALL_ENVELOPE_BYTES);
    expect(chunkOutputBytes({ choices: [{ index: 0, text: "xyz", finish_reason: null }] })).toBe(3);
    expect(chunkOutputBytes({ choices: [], usage: { completion_tokens: 9 } } as never)).toBe(0);
  });
});
