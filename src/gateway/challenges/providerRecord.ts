/**
 * A provider's verification record as ServingVerification keeps it (`providerRecord`): the
 * challenges validators checked and passed, the fraud verdicts against it, the stake they slashed
 * (token base units) and whether it is suspended (caught cheating: never routed to again).
 */
export type ProviderRecord = {
  challengesPassed: bigint;
  challengesFailed: bigint;
  slashed: bigint;
  suspended: boolean;
};
