/** An offer's prices, in payment-token base units per 1,000,000 tokens. */
export type Price = { pricePerMillionInput: bigint; pricePerMillionOutput: bigint };
export type TokenCounts = { inputTokens: number; outputTokens: number };

const MILLION = 1_000_000n;

/**
 * The exact cost of a request: input and output tokens at the offer's prices, rounded up to the
 * next base unit (so a provider is never paid less than its price, and never more than one unit above).
 */
export function computeCost(price: Price, counts: TokenCounts): bigint {
  const numerator =
    BigInt(counts.inputTokens) * price.pricePerMillionInput + BigInt(counts.outputTokens) * price.pricePerMillionOutput;
  return (numerator + MILLION - 1n) / MILLION;
}

/** Formats base units as a decimal string (`1234567n, 6` → `"1.234567"`), for display only. */
export function formatUnits(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  const fraction = (abs % base).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? "." + fraction : ""}`;
}

/** Parses a decimal string into base units exactly (`"1.5", 6` → `1500000n`); refuses excess precision. */
export function parseUnits(text: string, decimals: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a non-negative decimal amount`);
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) throw new Error(`"${text}" has more than ${decimals} decimal places`);
  return BigInt(match[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
}
