import { GotongError } from "./errors.ts";
import { SECONDS_PER_UNIT } from "../agent/parsePeriod.ts";

/**
 * Parses a duration given on the command line: seconds (`"90"`), or a number with a unit `s`, `m`,
 * `h`, `d`, `w` (`"30m"`, `"12h"`, `"7d"`). `"off"` (or `"never"`) is `undefined`: the feature it
 * times is switched off.
 *
 * @param text What the user typed.
 * @param option The option's name, for the error.
 * @returns Seconds, or undefined for "off".
 * @throws GotongError `invalid_arguments` for anything else, or zero.
 * @example parseDuration("7d", "auto-close-after") // 604800
 */
export function parseDuration(text: string, option: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "off" || trimmed === "never") return undefined;
  const match = /^(\d+)([smhdw]?)$/.exec(trimmed);
  const seconds = match ? Number(match[1]) * SECONDS_PER_UNIT[match[2] || "s"]! : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new GotongError(`--${option} must be a duration such as 30m, 12h or 7d (or off), not "${text}"`, {
      code: "invalid_arguments",
      hint: "Units: s, m, h, d, w; a bare number is seconds.",
    });
  }
  return seconds;
}

/**
 * A duration in seconds for people: the two largest units that are not zero (`"6d 23h"`, `"59m 30s"`,
 * `"0s"`). Negative durations are shown as zero.
 *
 * @example formatDuration(3600 * 25) // "1d 1h"
 */
export function formatDuration(seconds: number | bigint): string {
  let left = Math.max(0, Number(seconds));
  const parts: string[] = [];
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = SECONDS_PER_UNIT[unit]!;
    const count = Math.floor(left / size);
    left -= count * size;
    if (count > 0 || (unit === "s" && parts.length === 0)) parts.push(`${count}${unit}`);
  }
  return parts.slice(0, 2).join(" ");
}

/** A chain timestamp (unix seconds) as ISO 8601 without milliseconds. */
export function formatChainTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.000Z$/, "Z");
}
