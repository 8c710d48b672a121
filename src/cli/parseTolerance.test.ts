import { describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import { parseTolerance } from "./parseTolerance.ts";

describe("parseTolerance", () => {
  it("reads a decimal number of logits, and leaves the default when the flag is absent", () => {
    expect(parseTolerance("0.5")).toBe(0.5);
    expect(parseTolerance("0")).toBe(0);
    expect(parseTolerance("5")).toBe(5);
    expect(parseTolerance(undefined)).toBeUndefined();
  });

  it("refuses anything else, naming the flag", () => {
    for (const text of ["-0.1", "5.01", "abc", "", "1e-2", "0x1", "NaN", "Infinity", ".5"]) {
      let error: unknown;
      try {
        parseTolerance(text);
      } catch (e) {
        error = e;
      }
      expect(isGotongError(error) && error.code, text).toBe("invalid_arguments");
      expect((error as Error).message).toContain("--tolerance");
    }
  });
});
