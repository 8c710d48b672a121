import type { ProviderRecord } from "./providerRecord.ts";

/** Basis points: a weight of 10,000 leaves a provider's price as it is. */
export const NEUTRAL_WEIGHT_BPS = 10_000n;
/** Each fraud verdict adds nine times the price: one failure makes a provider rank as if it cost ten times as much. */
const FAILURE_BPS = 90_000n;
/** Passed challenges can take at most 20% off: they are cheap to earn in bulk, so they only break near-ties. */
const MAX_PASS_DISCOUNT_BPS = 2_000n;
/** Passes at which half the discount is reached: it grows with a record, then saturates. */
const HALF_DISCOUNT_PASSES = 50n;

/**
 * How a provider's on-chain record weighs on its price when routing, in basis points of its price
 * (10,000 = neutral): failed challenges weigh heavily against it (+900% each), passed ones mildly
 * for it (up to −20%, saturating). Integer maths, so two gateways rank the same records alike.
 * A suspended provider is not weighed at all: the router never sends it anything.
 *
 * @example reputationWeightBps({ challengesPassed: 50n, challengesFailed: 0n, slashed: 0n, suspended: false }) // 9_000n
 */
export function reputationWeightBps(record: ProviderRecord | undefined): bigint {
  if (!record) return NEUTRAL_WEIGHT_BPS;
  const passes = record.challengesPassed;
  const discount = (MAX_PASS_DISCOUNT_BPS * passes) / (passes + HALF_DISCOUNT_PASSES);
  return ((NEUTRAL_WEIGHT_BPS + FAILURE_BPS * record.challengesFailed) * (NEUTRAL_WEIGHT_BPS - discount)) / NEUTRAL_WEIGHT_BPS;
}
