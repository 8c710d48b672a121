import { describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import { formatPeriod, MAX_PERIOD, MIN_PERIOD, parsePeriod } from "./parsePeriod.ts";

describe("parsePeriod", () => {
  it("reads seconds and units", () => {
    expect(parsePeriod("3600")).toBe(3600);
    expect(parsePeriod("90s")).toBe(90);
    expect(parsePeriod("30m")).toBe(1800);
    expect(parsePeriod("1h")).toBe(3600);
    expect(parsePeriod("1d")).toBe(86_400);
    expect(parsePeriod("2w")).toBe(1_209_600);
    expect(parsePeriod("366d")).toBe(MAX_PERIOD);
    expect(parsePeriod("60")).toBe(MIN_PERIOD);
  });

  it("refuses impossible periods with an error saying what is allowed", () => {
    for (const text of ["0", "59", "59s", "367d", "1y", "-1h", "1.5h", "", "day", "99999999999999999999d"]) {
      let error: unknown;
      try {
        parsePeriod(text);
      } catch (e) {
        error = e;
      }
      expect(isGotongError(error, "invalid_period"), text).toBe(true);
    }
  });

  it("formats what it reads", () => {
    for (const text of ["90s", "30m", "1h", "1d", "2w"]) expect(formatPeriod(parsePeriod(text))).toBe(text);
    expect(formatPeriod(7 * 86_400)).toBe("1w");
  });
});
