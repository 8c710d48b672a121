import { ContractRevertError } from "../chain/errors.ts";

/** What to do about each refusal of the QuadraticFunding contract, by custom error name. */
const HINTS: Record<string, string> = {
  RoundNotFound: "No round has this id; rounds are numbered from 1.",
  ProjectNotInRound: "See the round's projects with `gotong fund round status ROUND`.",
  ProjectRejected: "The round's operator rejected this project.",
  DonationWindowClosed: "The round is not taking donations now; `gotong fund round status ROUND` shows its windows.",
  ApplicationWindowClosed: "The round is not taking applications now; `gotong fund round status ROUND` shows its windows.",
  DonorNotAttested: "This round counts only donors attested by the issuers its operator named; ask one of them to attest your address.",
  NotModelOwner: "Only the owner of the model's token can apply with it or claim for it: pass its key with --key FILE.",
  AlreadyApplied: "This model or address is already a project of the round.",
  RoundNotEnded: "A round can be finalized from the end of its donation window on.",
  RoundAlreadyFinalized: "The round's pool is fixed and its matches computed; projects can claim.",
  RoundNotFinalized: "Claims open once the round is finalized: `gotong fund round finalize ROUND` after donations close.",
  NotProjectRecipient: "Only the project's recipient (the model token's owner, or the project's address) can claim: pass its key with --key FILE.",
  AlreadyClaimed: "This project has already been paid.",
  NothingToClaim: "The project received no donations and no match.",
  NotSteward: "Only the funding steward can choose the round the protocol fee feeds: pass its key with --steward-key FILE.",
  WrongToken: "The protocol fee can only feed a round in the token it is paid in.",
  ZeroAmount: "Amounts must be above zero.",
  InvalidWindows: "Applications must open no later than donations and close no later than them.",
  InvalidMatchingCap: "The matching cap is 1 to 10000 basis points.",
  RoundFull: "A round holds at most 1000 projects.",
  UsageNotWeighed: "This round gives no weight to usage.",
};

/**
 * Adds a hint to a decoded QuadraticFunding refusal (a {@link ContractRevertError}), when it has
 * none; any other error is returned as it is.
 *
 * @example throw fundingErrorHint(error); // DonationWindowClosed(…) gains "The round is not taking donations now; …"
 */
export function fundingErrorHint(error: unknown): unknown {
  if (!(error instanceof ContractRevertError) || error.hint || !error.errorName) return error;
  const hint = Object.hasOwn(HINTS, error.errorName) ? HINTS[error.errorName] : undefined;
  return hint ? error.withHint(hint) : error;
}
