import { parseUnits } from "viem";
import { GotongError } from "../common/errors.ts";
import type { RedeemGasOptions } from "../provider/createRedeemer.ts";

/** The flags of provider commands that redeem, which bound what a redeem's gas may cost. */
export const redeemGasFlags = {
  "native-price": { type: "string" },
  "max-gas-share": { type: "string" },
  "max-gas-per-tx": { type: "string" },
} as const;

export const redeemGasHelp = `  --native-price T        what one native coin (ETH) is worth in the payment token (e.g. 3000): a
                          redeem is then sent only when its gas, at the highest fee it can pay, costs
                          at most --max-gas-share of what it redeems (without it the gas is reported,
                          not compared)
  --max-gas-share F       that share, 0 < F <= 1 (default 0.25)
  --max-gas-per-tx N      most gas one redeem transaction may use; bigger batches are split
                          (default half the chain's block gas limit)`;

/**
 * Reads the redeem gas flags: `--native-price` in whole payment tokens per native coin (base units
 * of a token of `decimals` decimals out), `--max-gas-share` as a fraction (basis points out, so
 * 0.25 is 2500), `--max-gas-per-tx` in gas. Each bad value is refused naming its flag.
 */
export function parseRedeemGas(values: Partial<Record<keyof typeof redeemGasFlags, string>>, decimals: number): RedeemGasOptions {
  const options: RedeemGasOptions = {};
  const price = values["native-price"];
  if (price !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(price)) throw invalid(`--native-price must be a positive number of payment tokens per native coin, not "${price}"`);
    options.nativePrice = parseUnits(price, decimals);
    if (options.nativePrice === 0n) throw invalid(`--native-price must be more than 0 (${price} rounds to no base unit of a token with ${decimals} decimals)`);
  }
  const share = values["max-gas-share"];
  if (share !== undefined) {
    const bps = /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(share) ? Math.round(Number(share) * 10_000) : NaN;
    if (!(bps >= 1 && bps <= 10_000)) throw invalid(`--max-gas-share must be a fraction above 0 and at most 1 (e.g. 0.25), not "${share}"`);
    options.maxGasShareBps = bps;
  }
  const cap = values["max-gas-per-tx"];
  if (cap !== undefined) {
    if (!/^\d+$/.test(cap) || BigInt(cap) < 100_000n) throw invalid(`--max-gas-per-tx must be a whole amount of gas of at least 100000 (one voucher's redeem), not "${cap}"`);
    options.maxGasPerTx = BigInt(cap);
  }
  return options;
}

function invalid(message: string): GotongError {
  return new GotongError(message, { code: "invalid_arguments", hint: "Run `gotong provider start --help` for the redeem gas flags." });
}
