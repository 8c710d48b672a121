import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";

/**
 * The commitment ServingVerification.commitVote takes for a vote: `keccak256(abi.encode(caseId,
 * fraud, salt, validator))`. The validator's address in it stops another from replaying it.
 *
 * @example const commitment = commitmentOf(caseId, true, salt, account.address);
 */
export function commitmentOf(caseId: Hex, fraud: boolean, salt: Hex, validator: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bool" }, { type: "bytes32" }, { type: "address" }], [caseId, fraud, salt, validator]));
}
