/** ServingVerification's `Case.outcome`: 0 while open. */
export const OUTCOME = { open: 0, fraud: 1, honest: 2, noQuorum: 3 } as const;
