/**
 * The validator role: re-runs evidence of what providers served on hash-verified weights, answers
 * gateways (`POST /gotong/validate`), attests passes, and votes on the cases it is drawn in: fraud cases
 * (ServingVerification) and disputes that a model is an undeclared derivative (DerivationCourt).
 */
export { startValidator, validatorLockPath, validatorStorePath, type RunningValidator, type StartValidatorOptions } from "./startValidator.ts";
export { createValidatorServer, VALIDATE_BODY_LIMIT, type ValidateResponse } from "./createValidatorServer.ts";
export { createCaseWatcher, type CaseWatcher, type CaseWatcherOptions } from "./createCaseWatcher.ts";
export { createDisputeWatcher, type DisputeWatcher, type DisputeWatcherOptions } from "./createDisputeWatcher.ts";
export { createVoteWatcher, type Decision, type VoteWatcher } from "./createVoteWatcher.ts";
export { judgeDerivation, type DerivationJudgement } from "./judgeDerivation.ts";
export { createPassBatcher } from "./createPassBatcher.ts";
export { createJudge, type BlindVote, type Judge } from "./createJudge.ts";
export { createValidatorStore, type StoredVote, type ValidatorStore } from "./createValidatorStore.ts";
export { commitmentOf } from "./commitmentOf.ts";
export { readCaseEvidence } from "./readCaseEvidence.ts";
export { readValidatorStatus, type ValidatorStatus } from "./readValidatorStatus.ts";
export { ensureValidatorRegistered } from "./ensureValidatorRegistered.ts";
export { servingVerificationOf } from "./servingVerificationOf.ts";
export { recoverValidationSigner, signValidation, validationDomain, validationTypes, type Validation } from "./validationSignature.ts";
export { OUTCOME } from "./caseOutcome.ts";
