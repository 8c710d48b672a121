/**
 * The matching inputs of one project, the same integers `QuadraticFunding` keeps on-chain. Each
 * contributor (donor, or payer for usage) counts with `c = min(total, donorCap)` (no cap when
 * `donorCap` is 0); a tally keeps `sqrtSum = Σ isqrt(c × SCALE)` and `counted = Σ c`, and a
 * project's CLR weight is `sqrtSum² / SCALE − counted`: what quadratic funding adds to its donations.
 */

/** Square roots are taken of `amount × SCALE`, so small amounts keep precision (as on-chain). */
export const SCALE = 10n ** 18n;

/** Basis points in one whole. */
export const BPS = 10_000n;

/** One side (donations or usage) of a project's matching inputs. */
export type Tally = {
  /** Σ isqrt(min(total, cap) × SCALE) over contributors. */
  sqrtSum: bigint;
  /** Σ min(total, cap) over contributors. */
  counted: bigint;
  /** Everything contributed (for donations: what the project is paid). */
  amount: bigint;
  /** Distinct contributors. */
  contributors: bigint;
};

/** A tally with nobody in it. */
export const EMPTY_TALLY: Tally = { sqrtSum: 0n, counted: 0n, amount: 0n, contributors: 0n };

/**
 * The integer square root, rounded down (what OpenZeppelin's `Math.sqrt` returns).
 *
 * @example isqrt(10n) // 3n
 */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError("isqrt of a negative number");
  if (n < 2n) return n;
  // Newton's method from a power of two at or above the root: decreases monotonically to the floor.
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * A project's CLR weight: `sqrtSum² / SCALE − counted`, or 0 when integer rounding makes that
 * negative (one contributor alone can land a unit below their amount).
 */
export function weightOf(sqrtSum: bigint, counted: bigint): bigint {
  const square = (sqrtSum * sqrtSum) / SCALE;
  return square > counted ? square - counted : 0n;
}

/** What of a contributor's total counts for matching. */
export function countedOf(total: bigint, donorCap: bigint): bigint {
  return donorCap === 0n || total < donorCap ? total : donorCap;
}

/**
 * A tally computed from scratch from each contributor's total: the independent reference the
 * contract's running sums are checked against.
 *
 * @example tallyOf([4_000_000n, 9_000_000n], 0n).sqrtSum // 5_000_000_000_000n
 */
export function tallyOf(totals: Iterable<bigint>, donorCap: bigint): Tally {
  let sqrtSum = 0n;
  let counted = 0n;
  let amount = 0n;
  let contributors = 0n;
  for (const total of totals) {
    if (total <= 0n) continue;
    const c = countedOf(total, donorCap);
    sqrtSum += isqrt(c * SCALE);
    counted += c;
    amount += total;
    contributors += 1n;
  }
  return { sqrtSum, counted, amount, contributors };
}

/**
 * A tally after one contributor's total moved from `before` to `total`: the same constant-work
 * update the contract makes on each donation (used to fold usage not yet recorded into estimates).
 */
export function addToTally(tally: Tally, before: bigint, total: bigint, donorCap: bigint): Tally {
  const oldCounted = countedOf(before, donorCap);
  const newCounted = countedOf(total, donorCap);
  return {
    sqrtSum: tally.sqrtSum - isqrt(oldCounted * SCALE) + isqrt(newCounted * SCALE),
    counted: tally.counted - oldCounted + newCounted,
    amount: tally.amount + (total - before),
    contributors: tally.contributors + (before === 0n && total > 0n ? 1n : 0n),
  };
}
