import { parseAbi } from "viem";

/**
 * The ServingVerification calls and events the validator uses, as human-readable ABI: the daemon is
 * built while the contract's generated artifact may not exist yet, and these fragments keep what it
 * depends on in view. validatorAbi.test.ts checks each against the compiled contract once the
 * artifact holds it.
 */
export const validatorAbi = parseAbi([
  "struct ReceiptData { bytes32 requestId; bytes32 channelId; bytes32 weightsHash; uint64 inputTokens; uint64 outputTokens; uint256 cost; uint256 cumulativeOwed; bytes32 requestHash; bytes32 responseHash; }",
  "struct Validator { bool registered; uint32 openCases; uint64 unstakeReadyAt; uint64 agreed; uint64 disagreed; uint64 missed; uint256 stake; uint256 unstaking; }",
  "struct Case { address provider; uint64 commitDeadline; address reporter; uint64 revealDeadline; uint8 outcome; uint8 commits; uint8 reveals; uint8 revealedMask; uint8 fraudMask; uint256 bond; address[3] validators; bytes32[3] commitments; }",
  "function minValidatorStake() view returns (uint256)",
  "function registerValidator(uint256 stake)",
  "function setValidatorEndpoint(string endpoint)",
  "function getValidator(address validator) view returns (Validator)",
  "function validatorEndpoint(address validator) view returns (string)",
  "function isValidator(address account) view returns (bool)",
  "function validatorRecord(address validator) view returns (uint64 agreed, uint64 disagreed, uint64 missed, uint256 stake)",
  "function getCase(bytes32 caseId) view returns (Case)",
  "function report(address provider, ReceiptData receipt, bytes signature, bytes request, bytes response) returns (bytes32 caseId)",
  "function commitVote(bytes32 caseId, bytes32 commitment)",
  "function revealVote(bytes32 caseId, bool fraud, bytes32 salt)",
  "function finalize(bytes32 caseId)",
  "function attestPasses(address provider, uint64 count)",
  "function earnings(address account) view returns (uint256)",
  "event CaseOpened(bytes32 indexed caseId, address indexed provider, address indexed reporter, address[3] validators, bytes32 weightsHash, uint64 commitDeadline, uint64 revealDeadline)",
  "event EvidenceSubmitted(bytes32 indexed caseId, ReceiptData receipt, bytes signature, bytes request, bytes response)",
  "event Verdict(bytes32 indexed caseId, address indexed provider, uint8 outcome, uint256 slashed)",
]);

/** `Case.outcome`: 0 while open. */
export const OUTCOME = { open: 0, fraud: 1, honest: 2, noQuorum: 3 } as const;
