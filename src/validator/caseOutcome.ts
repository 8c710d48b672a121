/** ServingVerification's `Case.outcome`: 0 while open. */
export const OUTCOME = { open: 0, fraud: 1, honest: 2, noQuorum: 3 } as const;

/**
 * Whether `finalize` accepts an undecided case now, by the rule both voting contracts share
 * (ServingVerification and DerivationCourt): all three revealed, the reveal phase over, or the
 * commit phase over with fewer than two commitments (no quorum can form).
 */
export function isDecidable(c: { reveals: number; commits: number; commitDeadline: bigint; revealDeadline: bigint }, now: bigint): boolean {
  return c.reveals >= 3 || now >= c.revealDeadline || (now >= c.commitDeadline && c.commits < 2);
}
