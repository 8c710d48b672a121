import { parseUnits } from "viem";
import { servingVerificationParams, type ServingVerificationParams } from "../chain/deployContracts.ts";
import { GotongError } from "../common/errors.ts";

/** The `gotong deploy` flags that set ServingVerification's terms, and the field each one sets. */
export const verificationFlags = {
  "validator-stake": "minValidatorStake",
  "validator-unstake-delay": "validatorUnstakeDelay",
  "report-bond": "reportBond",
  "commit-period": "commitPeriod",
  "reveal-period": "revealPeriod",
  "slash-bps": "slashBps",
  "reporter-bps": "reporterBps",
  "validator-bps": "validatorBps",
  "validator-penalty-bps": "validatorPenaltyBps",
  "honest-provider-bps": "honestProviderBps",
} as const satisfies Record<string, keyof ServingVerificationParams>;

/** A flag of {@link verificationFlags}. */
export type VerificationFlag = keyof typeof verificationFlags;

const BPS = 10_000;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Reads ServingVerification's terms from `gotong deploy`'s flags: token amounts in whole tokens of
 * `decimals` decimals (`--report-bond 2.5`), durations as seconds or `30m`, `12h`, `7d`, shares in
 * basis points. Only the flags given are returned; the rest keep `servingVerificationParams`'
 * defaults. Refuses, naming the flag, what the contract's constructor would refuse (a zero bond,
 * stake or period, a zero slash, a share over 10000, reporter and validator shares over 10000
 * together, with the default of the one not given), so a bad flag fails before the deploy sends
 * anything.
 *
 * @param values The parsed flags (absent ones `undefined`).
 * @param decimals The payment token's decimals.
 * @returns The terms given.
 * @example parseVerificationTerms({ "report-bond": "5", "commit-period": "2h" }, 6) // { reportBond: 5000000n, commitPeriod: 7200n }
 */
export function parseVerificationTerms(values: Partial<Record<VerificationFlag, string>>, decimals: number): Partial<ServingVerificationParams> {
  const terms: Partial<ServingVerificationParams> = {};
  const amount = (flag: "validator-stake" | "report-bond") => {
    const text = values[flag];
    if (text === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(text)) throw invalid(`--${flag} must be an amount of whole tokens such as 50 or 2.5, not "${text}"`);
    const fraction = text.split(".")[1] ?? "";
    if (fraction.length > decimals) throw invalid(`--${flag} ${text} has more decimals than the token's ${decimals}`);
    const value = parseUnits(text, decimals);
    if (value === 0n) throw invalid(`--${flag} must be more than 0`);
    return value;
  };
  const duration = (flag: "validator-unstake-delay" | "commit-period" | "reveal-period", positive: boolean) => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const value = parseContractDuration(text, flag);
    if (positive && value === 0n) throw invalid(`--${flag} must be longer than 0`);
    return value;
  };
  const bps = (flag: "slash-bps" | "reporter-bps" | "validator-bps" | "validator-penalty-bps" | "honest-provider-bps") => {
    const text = values[flag];
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) > BPS) throw invalid(`--${flag} must be basis points from 0 to 10000 (100%), not "${text}"`);
    return Number(text);
  };

  const set = <K extends keyof ServingVerificationParams>(key: K, value: ServingVerificationParams[K] | undefined) => {
    if (value !== undefined) terms[key] = value;
  };
  set("minValidatorStake", amount("validator-stake"));
  set("reportBond", amount("report-bond"));
  set("validatorUnstakeDelay", duration("validator-unstake-delay", false));
  set("commitPeriod", duration("commit-period", true));
  set("revealPeriod", duration("reveal-period", true));
  set("slashBps", bps("slash-bps"));
  set("reporterBps", bps("reporter-bps"));
  set("validatorBps", bps("validator-bps"));
  set("validatorPenaltyBps", bps("validator-penalty-bps"));
  set("honestProviderBps", bps("honest-provider-bps"));
  if (terms.slashBps === 0) throw invalid("--slash-bps must be more than 0: a fraud verdict that takes nothing deters nothing");
  // One flag alone can push the sum over 10000 with the other's default (the defaults' shares do
  // not depend on the stake, so any stake serves to read them).
  const defaults = servingVerificationParams({ minStake: 0n, unstakeDelay: 0n });
  const reporterBps = terms.reporterBps ?? defaults.reporterBps;
  const validatorBps = terms.validatorBps ?? defaults.validatorBps;
  if (reporterBps + validatorBps > BPS) {
    throw invalid(
      `--reporter-bps ${reporterBps} and --validator-bps ${validatorBps} add up to ${reporterBps + validatorBps}, over 10000: a slash cannot pay out more than it takes`,
      "The reporter's and the validators' shares of a slash add up to at most 10000; the rest funds quadratic funding.",
    );
  }
  return terms;
}

/**
 * Parses `3600`, `30m`, `12h` or `7d` into seconds, as a contract's uint64 period. Not
 * common/parseDuration: a deployed period cannot be "off", and it must fit the contract's type.
 *
 * @param text The duration.
 * @param flag The flag it came from, named in the error.
 * @returns Seconds.
 * @example parseContractDuration("2h", "commit-period") // 7200n
 */
export function parseContractDuration(text: string, flag: string): bigint {
  const match = /^(\d+)([smhd]?)$/.exec(text);
  if (!match) throw invalid(`--${flag} must be seconds or a duration such as 30m, 12h, 7d, not "${text}"`);
  const unit = { "": 1n, s: 1n, m: 60n, h: 3600n, d: 86_400n }[match[2] as "" | "s" | "m" | "h" | "d"];
  const value = BigInt(match[1]!) * unit;
  if (value > UINT64_MAX) throw invalid(`--${flag} ${text} is too long`);
  return value;
}

function invalid(message: string, hint?: string): GotongError {
  return new GotongError(message, { code: "invalid_arguments", hint: hint ?? "Run `gotong deploy --help` for its options." });
}
