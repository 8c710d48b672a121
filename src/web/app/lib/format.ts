
/**
 * Money on the page is always a bigint of token base units; these turn it into text and back with
 * the token's decimals, never through floating point.
 */

/**
 * `1234500n` with 6 decimals → `"1.2345"`. Trailing zeros are dropped; `maxFraction` rounds down
 * (toward zero) for compact display.
 *
 * @example formatUnits(1_500_000n, 6) // "1.5"
 */
export function formatUnits(value: bigint, decimals: number, maxFraction = decimals): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(decimals);
  const whole = abs / unit;
  let fraction = (abs % unit).toString().padStart(decimals, "0").slice(0, maxFraction).replace(/0+$/, "");
  if (decimals === 0) fraction = "";
  const wholeText = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${wholeText}${fraction ? `.${fraction}` : ""}`;
}

/** A formatted amount with its symbol; amounts below the display precision show as "< 0.000001". */
export function formatAmount(value: bigint | string, token: { decimals: number; symbol: string }, maxFraction = 6): string {
  const v = typeof value === "bigint" ? value : BigInt(value);
  const precision = Math.min(maxFraction, token.decimals);
  const shown = formatUnits(v, token.decimals, precision);
  if (v > 0n && shown === "0") return precision === 0 ? `< 1 ${token.symbol}` : `< 0.${"0".repeat(precision - 1)}1 ${token.symbol}`;
  return `${shown} ${token.symbol}`;
}

/**
 * Parses what a person typed ("1.5", "0.25", "10") into base units, exactly.
 *
 * @returns the amount, or an error message for anything that is not a positive amount with at most `decimals` decimals
 * @example parseUnits("1.5", 6) // { ok: true, value: 1_500_000n }
 */
export function parseUnits(text: string, decimals: number): { ok: true; value: bigint } | { ok: false; error: string } {
  const t = text.trim().replace(/,/g, "");
  if (t === "") return { ok: false, error: "Enter an amount." };
  const m = /^(\d*)(?:\.(\d*))?$/.exec(t);
  if (!m || (m[1] === "" && (m[2] ?? "") === "")) return { ok: false, error: "Enter a number, like 1.5" };
  const fraction = m[2] ?? "";
  if (fraction.length > decimals) return { ok: false, error: `At most ${decimals} decimals.` };
  const value = BigInt(m[1] || "0") * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  if (value === 0n) return { ok: false, error: "The amount must be above zero." };
  return { ok: true, value };
}

/** `0x1234…abcd` for an address or hash. */
export function shortHex(hex: string, keep = 4): string {
  return hex.length <= 2 + keep * 2 + 1 ? hex : `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}`;
}

/**
 * An offer's two prices in one phrase, the way people compare them.
 *
 * @example formatOffer(1_000_000n, 2_000_000n, { decimals: 6, symbol: "gUSD" }) // "1 gUSD in / 2 gUSD out per 1M tokens"
 */
export function formatOffer(input: bigint | string, output: bigint | string, token: { decimals: number; symbol: string }): string {
  return `${formatAmount(BigInt(input), token)} in / ${formatAmount(BigInt(output), token)} out per 1M tokens`;
}

/** A count with thousand separators, the same whatever the browser's language: 12345 → "12,345" (as amounts are). */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

/** Basis points as a percentage: 1000 → "10%". */
export function formatBps(bps: number): string {
  return `${(bps / 100).toFixed(bps % 100 === 0 ? 0 : 2)}%`;
}

/** A unix time (seconds) as a short local date and time. */
export function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * An amount stated exactly, for a confirmation or a receipt: every decimal in token units, and the
 * base units themselves.
 *
 * @example formatExact(1_234_567n, { decimals: 6, symbol: "gUSD" }) // "1.234567 gUSD (1234567 base units)"
 */
export function formatExact(value: bigint | string, token: { decimals: number; symbol: string }): string {
  const v = typeof value === "bigint" ? value : BigInt(value);
  return `${formatUnits(v, token.decimals)} ${token.symbol} (${v.toString()} base units)`;
}

/** A number of seconds as words, at most two units: 86400 → "1 day", 5400 → "1 hour 30 minutes". */
export function formatDuration(seconds: number): string {
  const units: [string, number][] = [["day", 86_400], ["hour", 3_600], ["minute", 60], ["second", 1]];
  const parts: string[] = [];
  let rest = Math.max(0, Math.floor(seconds));
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 && parts.length < 2) parts.push(`${n} ${name}${n === 1 ? "" : "s"}`);
    else if (parts.length > 0) break;
  }
  return parts.length === 0 ? "0 seconds" : parts.join(" ");
}
