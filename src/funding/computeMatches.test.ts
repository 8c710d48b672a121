import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { computeMatches } from "./computeMatches.ts";
import { addToTally, EMPTY_TALLY, isqrt, tallyOf, weightOf, type Tally } from "./tally.ts";

const M = 1_000_000n; // one token of 6 decimals

/** A project with donations from donors giving these totals, and no usage. */
const donatedBy = (...totals: bigint[]) => ({ donations: tallyOf(totals, 0n), usage: EMPTY_TALLY });

describe("isqrt", () => {
  it("is the floor of the square root, for small and huge numbers", () => {
    expect([0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n].map(isqrt)).toEqual([0n, 1n, 1n, 1n, 2n, 3n, 4n, 4n]);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), (n) => {
        const r = isqrt(n);
        return r * r <= n && (r + 1n) * (r + 1n) > n;
      }),
      { numRuns: 2000 },
    );
  });
});

describe("CLR weights", () => {
  it("is what quadratic funding adds: (Σ√c)² − Σc", () => {
    expect(weightOf(tallyOf([4n * M, 9n * M], 0n).sqrtSum, 13n * M)).toBe(12n * M); // (2 + 3)² − 13
    expect(weightOf(tallyOf([100n * M], 0n).sqrtSum, 100n * M)).toBe(0n); // one donor alone adds nothing
  });

  it("updates a tally one donation at a time to exactly what a fresh computation gives", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.bigInt({ min: 1n, max: 10n ** 24n })), { minLength: 1, maxLength: 40 }),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        (gifts, donorCap) => {
          const totals = new Map<number, bigint>();
          let tally: Tally = EMPTY_TALLY;
          for (const [donor, amount] of gifts) {
            const before = totals.get(donor) ?? 0n;
            totals.set(donor, before + amount);
            tally = addToTally(tally, before, before + amount, donorCap);
          }
          expect(tally).toEqual(tallyOf(totals.values(), donorCap));
        },
      ),
    );
  });
});

describe("computeMatches", () => {
  it("gives a project of many small donors more than one of few large ones, with exact figures", () => {
    // The same round as the Foundry test `test_finalize_matchesInProportionToCLRWeight`.
    const result = computeMatches({
      pool: 1000n * M,
      matchingCapBps: 10_000,
      usageWeightBps: 0,
      projects: [donatedBy(M, M, M, M), donatedBy(9n * M, 4n * M, M / 4n)],
    });
    expect(result.projects.map((p) => p.donationWeight)).toEqual([12n * M, 17n * M]);
    expect(result.projects.map((p) => p.match)).toEqual([413_793_103n, 586_206_896n]);
    expect(result.unallocated).toBe(1n);
  });

  it("caps each project's match and leaves the excess unallocated", () => {
    const result = computeMatches({
      pool: 100n * M,
      matchingCapBps: 5000,
      usageWeightBps: 0,
      projects: [donatedBy(...Array<bigint>(9).fill(M)), donatedBy(M, M)],
    });
    expect(result.projects[0]!.match).toBe(50n * M);
    expect(result.projects[1]!.match).toBe((100n * M * 2n) / 74n);
    expect(result.unallocated).toBe(100n * M - result.allocated);
  });

  it("splits the pool between donations and usage, and gives a side with no weight's part to the other", () => {
    const usedBy = (...totals: bigint[]) => tallyOf(totals, 0n);
    const projects = [
      { donations: tallyOf([M, M, M, M], 0n), usage: usedBy(500n * M) },
      { donations: tallyOf([50n * M], 0n), usage: usedBy(M, M, M) },
    ];
    const split = computeMatches({ pool: 100n * M, matchingCapBps: 10_000, usageWeightBps: 4000, projects });
    expect([split.donationPool, split.usagePool]).toEqual([60n * M, 40n * M]);
    expect(split.projects.map((p) => [p.donationMatch, p.usageMatch])).toEqual([
      [60n * M, 0n],
      [0n, 40n * M],
    ]);
    const noUsage = computeMatches({ pool: 100n * M, matchingCapBps: 10_000, usageWeightBps: 4000, projects: projects.map((p) => ({ ...p, usage: EMPTY_TALLY })) });
    expect([noUsage.donationPool, noUsage.usagePool]).toEqual([100n * M, 0n]);
    const noDonations = computeMatches({ pool: 100n * M, matchingCapBps: 10_000, usageWeightBps: 4000, projects: projects.map((p) => ({ ...p, donations: EMPTY_TALLY })) });
    expect([noDonations.donationPool, noDonations.usagePool]).toEqual([0n, 100n * M]);
  });

  it("never allocates more than the pool, and without a cap leaves under one unit of dust per project", () => {
    const tally = fc.array(fc.bigInt({ min: 1n, max: 10n ** 24n }), { maxLength: 6 }).map((totals) => tallyOf(totals, 0n));
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.record({ donations: tally, usage: tally }), { minLength: 1, maxLength: 12 }),
        (pool, matchingCapBps, usageWeightBps, projects) => {
          const result = computeMatches({ pool, matchingCapBps, usageWeightBps, projects });
          expect(result.allocated).toBeLessThanOrEqual(pool);
          expect(result.allocated + result.unallocated).toBe(pool);
          expect(result.donationPool + result.usagePool).toBe(pool);
          if (matchingCapBps === 10_000 && (result.donationWeight > 0n || result.usageWeight > 0n)) {
            expect(result.unallocated).toBeLessThan(BigInt(2 * projects.length));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("shows why a round needs identity: one donor split over 100 accounts takes 91.7% of the pool", () => {
    // The scene of the Foundry sybil test: 10 honest donors of 10 to one project; an attacker puts 100
    // into its own project, from one account or from 100 accounts of 1. Pool: 1,000.
    const honest = donatedBy(...Array<bigint>(10).fill(10n * M));
    const round = (attacker: ReturnType<typeof donatedBy>) =>
      computeMatches({ pool: 1000n * M, matchingCapBps: 10_000, usageWeightBps: 0, projects: [honest, attacker] });
    const single = round(donatedBy(100n * M)).projects[1]!.match;
    const split = round(donatedBy(...Array<bigint>(100).fill(M))).projects[1]!.match;
    expect(single).toBe(0n);
    expect(split).toBe(916_666_666n); // the figure the Foundry test logs
  });
});
