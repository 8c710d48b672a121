/** The share of a period's budget one channel deposit takes by default: 1%. */
export const DEPOSIT_SHARE_OF_BUDGET = 100n;

/**
 * The deposit an agent's channels are opened and topped up with when its code does not choose one:
 * 1% of the period's budget, at most one token (the gateway's own default) and at most the cap per
 * transaction. A deposit is budget spent until the channel is closed and withdrawn, so a small one
 * keeps the budget for use (a 10-token daily budget locks 0.1 per channel, not 1 or more); a request
 * costing more than the deposit still gets a channel sized to it.
 *
 * @param budget Base units per period, and the cap per transaction.
 * @param unit One whole token in base units.
 * @example defaultAgentDeposit({ budget: 10_000_000n, maxPerTransaction: 10_000_000n }, 1_000_000n) // 100_000n
 */
export function defaultAgentDeposit(budget: { budget: bigint; maxPerTransaction: bigint }, unit: bigint): bigint {
  let deposit = budget.budget / DEPOSIT_SHARE_OF_BUDGET;
  if (deposit > unit) deposit = unit;
  if (budget.maxPerTransaction > 0n && deposit > budget.maxPerTransaction) deposit = budget.maxPerTransaction;
  return deposit > 0n ? deposit : 1n;
}
