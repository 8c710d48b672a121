import { describe, expect, it } from "vitest";
import { createJsonEndDetector } from "./createJsonEndDetector.ts";

const end = (pieces: string[]) => {
  const d = createJsonEndDetector();
  let seen = "";
  for (const p of pieces) {
    const at = d.push(p);
    if (at !== undefined) return seen + p.slice(0, at);
    seen += p;
  }
  return undefined;
};

describe("where a streamed JSON value ends", () => {
  it("ends at the closing brace of the top-level object, whatever the pieces", () => {
    expect(end(['{"a": [1, {"b"', ": 2}]}", "  \n\n"])).toBe('{"a": [1, {"b": 2}]}');
    expect(end(['{"a":1}{"b":2}'])).toBe('{"a":1}');
  });
  it("ignores braces and escaped quotes inside strings", () => {
    expect(end(['{"a": "}\\"{"', "}"])).toBe('{"a": "}\\"{"}');
  });
  it("is not done before the value closes", () => {
    expect(end(['{"a": [1, 2', "]"])).toBeUndefined();
  });
});
