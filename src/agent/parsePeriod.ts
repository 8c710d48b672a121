import { GotongError } from "../common/errors.ts";

/** The shortest and longest budget period an agent wallet accepts, in seconds (`AgentWallet.MIN_PERIOD`, `MAX_PERIOD`). */
export const MIN_PERIOD = 60;
export const MAX_PERIOD = 366 * 24 * 3600;

/** Seconds in each duration unit the CLI reads: `s`, `m`, `h`, `d`, `w`. */
export const SECONDS_PER_UNIT: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * Parses a budget period: seconds (`"3600"`), or a number with a unit `s`, `m`, `h`, `d`, `w`
 * (`"1h"`, `"30m"`, `"1d"`, `"1w"`). Refuses periods the wallet would refuse (under a minute, over
 * 366 days) with an error saying why.
 *
 * @example parsePeriod("1d") // 86400
 */
export function parsePeriod(text: string): number {
  const match = /^(\d+)([smhdw]?)$/.exec(text.trim());
  if (!match) {
    throw new GotongError(`Invalid period "${text}"`, { code: "invalid_period", hint: 'Use seconds or a number with a unit: "3600", "1h", "1d", "1w".' });
  }
  const seconds = Number(match[1]) * SECONDS_PER_UNIT[match[2] || "s"]!;
  checkPeriod(seconds);
  return seconds;
}

/** Refuses a period outside `[MIN_PERIOD, MAX_PERIOD]`, as the wallet contract does. */
export function checkPeriod(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds < MIN_PERIOD || seconds > MAX_PERIOD) {
    throw new GotongError(`A budget period of ${seconds} seconds is impossible: it must be between ${MIN_PERIOD} seconds and ${MAX_PERIOD / 86_400} days`, {
      code: "invalid_period",
      hint: 'Budgets reset every period, aligned to the Unix epoch (a day resets at 00:00 UTC). Try "1h", "1d" or "1w".',
    });
  }
}

/** Formats a period in seconds the way `parsePeriod` reads it (`86400` → `"1d"`). */
export function formatPeriod(seconds: number): string {
  for (const unit of ["w", "d", "h", "m"] as const) {
    if (seconds % SECONDS_PER_UNIT[unit]! === 0) return `${seconds / SECONDS_PER_UNIT[unit]!}${unit}`;
  }
  return `${seconds}s`;
}
