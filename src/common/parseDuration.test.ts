import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./parseDuration.ts";
import { defaultAgentDeposit } from "../agent/defaultAgentDeposit.ts";

describe("parseDuration", () => {
  it("reads seconds and units, and off", () => {
    expect(parseDuration("7d", "x")).toBe(604_800);
    expect(parseDuration("12h", "x")).toBe(43_200);
    expect(parseDuration("30m", "x")).toBe(1_800);
    expect(parseDuration("90", "x")).toBe(90);
    expect(parseDuration("2w", "x")).toBe(1_209_600);
    expect(parseDuration("off", "x")).toBeUndefined();
  });
  it("refuses zero and nonsense, naming the option", () => {
    expect(() => parseDuration("0", "auto-close-after")).toThrow(/--auto-close-after must be a duration/);
    expect(() => parseDuration("7 days", "auto-close-after")).toThrow(/not "7 days"/);
    expect(() => parseDuration("-1h", "auto-close-after")).toThrow();
  });
  it("formats the two largest units", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(3600)).toBe("1h");
    expect(formatDuration(7 * 86_400 - 60)).toBe("6d 23h");
    expect(formatDuration(90n)).toBe("1m 30s");
    expect(formatDuration(-5)).toBe("0s");
  });
});

describe("defaultAgentDeposit", () => {
  const unit = 1_000_000n;
  it("is 1% of the budget, at most one token and the cap per transaction", () => {
    expect(defaultAgentDeposit({ budget: 10n * unit, maxPerTransaction: 10n * unit }, unit)).toBe(100_000n);
    expect(defaultAgentDeposit({ budget: 1_000n * unit, maxPerTransaction: 1_000n * unit }, unit)).toBe(unit);
    expect(defaultAgentDeposit({ budget: 10n * unit, maxPerTransaction: 50_000n }, unit)).toBe(50_000n);
    expect(defaultAgentDeposit({ budget: 0n, maxPerTransaction: 0n }, unit)).toBe(1n);
  });
});
