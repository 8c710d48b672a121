import { describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import { parseContractDuration, parseVerificationTerms } from "./parseVerificationTerms.ts";

/** The error `fn` throws (an invalid_arguments GotongError), or a failure when it throws none. */
function refusal(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(isGotongError(error, "invalid_arguments"), String(error)).toBe(true);
    return error as Error;
  }
  throw new Error("expected a refusal");
}

describe("parseVerificationTerms", () => {
  it("returns only the terms given, in base units and seconds", () => {
    expect(parseVerificationTerms({}, 6)).toEqual({});
    expect(
      parseVerificationTerms(
        {
          "validator-stake": "75",
          "validator-unstake-delay": "0",
          "report-bond": "2.5",
          "commit-period": "30m",
          "reveal-period": "2h",
          "slash-bps": "5000",
          "reporter-bps": "1500",
          "validator-bps": "2500",
          "validator-penalty-bps": "0",
          "honest-provider-bps": "10000",
        },
        6,
      ),
    ).toEqual({
      minValidatorStake: 75_000_000n,
      validatorUnstakeDelay: 0n,
      reportBond: 2_500_000n,
      commitPeriod: 1800n,
      revealPeriod: 7200n,
      slashBps: 5000,
      reporterBps: 1500,
      validatorBps: 2500,
      validatorPenaltyBps: 0,
      honestProviderBps: 10_000,
    });
    expect(parseVerificationTerms({ "report-bond": "0.000001" }, 6)).toEqual({ reportBond: 1n });
    expect(parseVerificationTerms({ "report-bond": "1" }, 18)).toEqual({ reportBond: 10n ** 18n });
  });

  it("refuses what the contract would refuse, naming the flag", () => {
    expect(refusal(() => parseVerificationTerms({ "report-bond": "0" }, 6)).message).toBe("--report-bond must be more than 0");
    expect(refusal(() => parseVerificationTerms({ "validator-stake": "0.0" }, 6)).message).toBe("--validator-stake must be more than 0");
    expect(refusal(() => parseVerificationTerms({ "commit-period": "0m" }, 6)).message).toBe("--commit-period must be longer than 0");
    expect(refusal(() => parseVerificationTerms({ "reveal-period": "0" }, 6)).message).toBe("--reveal-period must be longer than 0");
    expect(refusal(() => parseVerificationTerms({ "slash-bps": "0" }, 6)).message).toMatch(/^--slash-bps must be more than 0/);
    expect(refusal(() => parseVerificationTerms({ "slash-bps": "10001" }, 6)).message).toBe('--slash-bps must be basis points from 0 to 10000 (100%), not "10001"');
    expect(refusal(() => parseVerificationTerms({ "validator-penalty-bps": "-1" }, 6)).message).toMatch(/^--validator-penalty-bps must be basis points/);
    expect(refusal(() => parseVerificationTerms({ "honest-provider-bps": "50%" }, 6)).message).toMatch(/^--honest-provider-bps must be basis points/);
  });

  it("refuses reporter and validator shares over 10000 together, with the default of the one not given", () => {
    expect(parseVerificationTerms({ "reporter-bps": "4000", "validator-bps": "6000" }, 6)).toEqual({ reporterBps: 4000, validatorBps: 6000 });
    expect(refusal(() => parseVerificationTerms({ "reporter-bps": "4001", "validator-bps": "6000" }, 6)).message).toBe(
      "--reporter-bps 4001 and --validator-bps 6000 add up to 10001, over 10000: a slash cannot pay out more than it takes",
    );
    // The validators' default share is 2000: 8001 more is over.
    expect(parseVerificationTerms({ "reporter-bps": "8000" }, 6)).toEqual({ reporterBps: 8000 });
    expect(refusal(() => parseVerificationTerms({ "reporter-bps": "8001" }, 6)).message).toMatch(/^--reporter-bps 8001 and --validator-bps 2000 add up to 10001/);
  });

  it("refuses amounts that are not whole tokens of the token's decimals", () => {
    expect(refusal(() => parseVerificationTerms({ "report-bond": "0.0000001" }, 6)).message).toBe("--report-bond 0.0000001 has more decimals than the token's 6");
    expect(refusal(() => parseVerificationTerms({ "validator-stake": "-5" }, 6)).message).toBe('--validator-stake must be an amount of whole tokens such as 50 or 2.5, not "-5"');
    expect(refusal(() => parseVerificationTerms({ "report-bond": "1e6" }, 6)).message).toMatch(/^--report-bond must be an amount of whole tokens/);
  });
});

describe("parseContractDuration", () => {
  it("reads seconds and s, m, h, d units", () => {
    expect(parseContractDuration("3600", "commit-period")).toBe(3600n);
    expect(parseContractDuration("45s", "commit-period")).toBe(45n);
    expect(parseContractDuration("30m", "commit-period")).toBe(1800n);
    expect(parseContractDuration("12h", "commit-period")).toBe(43_200n);
    expect(parseContractDuration("7d", "commit-period")).toBe(604_800n);
  });

  it("refuses anything else, naming the flag", () => {
    expect(refusal(() => parseContractDuration("2 hours", "reveal-period")).message).toBe('--reveal-period must be seconds or a duration such as 30m, 12h, 7d, not "2 hours"');
    expect(refusal(() => parseContractDuration("1.5h", "challenge-period")).message).toMatch(/^--challenge-period must be seconds/);
    expect(refusal(() => parseContractDuration("99999999999999999999d", "validator-unstake-delay")).message).toBe("--validator-unstake-delay 99999999999999999999d is too long");
  });
});
