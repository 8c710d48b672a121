/**
 * Verified serving, off-chain: evidence of what a provider served (its signed receipt and the
 * plaintext), challenge requests that read like real traffic, and the validator's re-run that
 * compares a provider's answer with the hash-verified weights' own greedy choice.
 */
export { checkEvidence, decodeEvidence, encodeEvidence, hashEvidenceReceipt, sha256Of, type Evidence, type EvidenceCheck, type EvidenceJson } from "./evidence.ts";
export { createChallenge, type Challenge, type ChallengeModelInfo, type RandomSource } from "./challengePrompts.ts";
export { createVerifier, disposeVerifiers, verifyEvidence, type Verdict, type VerdictReason, type VerifiedModel, type Verifier, type VerifierOptions, type VerifyOptions } from "./rerun.ts";
export { compareOutputs, DEFAULT_TOLERANCE, type Comparison, type CompareInput } from "./compareOutputs.ts";
