import { parseAbi } from "viem";

/**
 * The ServingVerification calls the gateway makes (a fraud report and the reads around it), as
 * human-readable ABI: the gateway is built and tested while the contract's generated artifact may
 * not exist yet, and a few fragments keep what it depends on in view. servingVerificationAbi.test.ts
 * checks each fragment against the compiled contract once the artifact holds it.
 */
export const servingVerificationAbi = parseAbi([
  "struct ReceiptData { bytes32 requestId; bytes32 channelId; bytes32 weightsHash; uint64 inputTokens; uint64 outputTokens; uint256 cost; uint256 cumulativeOwed; bytes32 requestHash; bytes32 responseHash; }",
  "function report(address provider, ReceiptData receipt, bytes signature, bytes request, bytes response) returns (bytes32 caseId)",
  "function reportBond() view returns (uint256)",
  "function providerRecord(address provider) view returns (uint64 challengesPassed, uint64 challengesFailed, uint256 slashedAmount, bool suspended)",
  "function validators() view returns (address[])",
  "function validatorEndpoint(address validator) view returns (string)",
  "error CaseExists(bytes32 caseId)",
  "error ProviderNotRegistered(address provider)",
  "error InvalidSignature(address provider, address recovered)",
  "error RequestHashMismatch(bytes32 expected, bytes32 actual)",
  "error ResponseHashMismatch(bytes32 expected, bytes32 actual)",
  "error NotEnoughValidators(uint256 eligible, uint256 required)",
]);
