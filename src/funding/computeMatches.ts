import { BPS, weightOf, type Tally } from "./tally.ts";

/** What a round's matching depends on. */
export type MatchInput = {
  /** The matching pool, in token base units. */
  pool: bigint;
  /** The most one project's match can be, per part, in basis points of that part's pool (10000: no cap). */
  matchingCapBps: number;
  /** The share of the pool matched by paid usage, in basis points. */
  usageWeightBps: number;
  /** Every project of the round, with its donation and usage tallies (rejected ones have empty tallies). */
  projects: readonly { donations: Tally; usage: Tally }[];
};

/** One project's match, in its two parts. */
export type ProjectMatch = {
  /** The project's donation weight: `(Σ√c)² − Σc`. */
  donationWeight: bigint;
  /** The project's usage weight, over distinct payers. */
  usageWeight: bigint;
  /** Its share of the donation part of the pool. */
  donationMatch: bigint;
  /** Its share of the usage part of the pool. */
  usageMatch: bigint;
  /** `donationMatch + usageMatch`. */
  match: bigint;
};

/** A whole round's matching. */
export type MatchResult = {
  /** The part of the pool matched by donations. */
  donationPool: bigint;
  /** The part of the pool matched by usage. */
  usagePool: bigint;
  /** Σ donation weights. */
  donationWeight: bigint;
  /** Σ usage weights. */
  usageWeight: bigint;
  /** Per project, in the order given. */
  projects: ProjectMatch[];
  /** Σ matches: never above the pool. */
  allocated: bigint;
  /** `pool − allocated`: cap excess and rounding dust. */
  unallocated: bigint;
};

/**
 * The reference implementation of `QuadraticFunding`'s matching, integer for integer: the pool is
 * split `usageWeightBps` to usage and the rest to donations (a side with no weight at all gives its
 * part to the other); each part goes to projects in proportion to their CLR weight, rounded down,
 * capped at `matchingCapBps` of that part. Used by `gotong fund round status` for live estimates and
 * by the tests to check the contract.
 *
 * @example
 * const { projects } = computeMatches({ pool: 1_000n, matchingCapBps: 10_000, usageWeightBps: 0, projects });
 */
export function computeMatches(input: MatchInput): MatchResult {
  const weights = input.projects.map((p) => ({
    donation: weightOf(p.donations.sqrtSum, p.donations.counted),
    usage: weightOf(p.usage.sqrtSum, p.usage.counted),
  }));
  const donationWeight = weights.reduce((sum, w) => sum + w.donation, 0n);
  const usageWeight = weights.reduce((sum, w) => sum + w.usage, 0n);

  let usagePool = (input.pool * BigInt(input.usageWeightBps)) / BPS;
  if (usageWeight === 0n) usagePool = 0n;
  else if (donationWeight === 0n) usagePool = input.pool;
  const donationPool = input.pool - usagePool;

  const capBps = BigInt(input.matchingCapBps);
  const share = (pool: bigint, weight: bigint, total: bigint): bigint => {
    if (total === 0n || pool === 0n || weight === 0n) return 0n;
    const value = (pool * weight) / total;
    const cap = (pool * capBps) / BPS;
    return value > cap ? cap : value;
  };

  const projects = weights.map((w) => {
    const donationMatch = share(donationPool, w.donation, donationWeight);
    const usageMatch = share(usagePool, w.usage, usageWeight);
    return { donationWeight: w.donation, usageWeight: w.usage, donationMatch, usageMatch, match: donationMatch + usageMatch };
  });
  const allocated = projects.reduce((sum, p) => sum + p.match, 0n);
  return { donationPool, usagePool, donationWeight, usageWeight, projects, allocated, unallocated: input.pool - allocated };
}
