import { erc20Abi, toFunctionSelector, type Address, type Hex } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import { ContractRevertError } from "../../chain/errors.ts";
import { writeAndWait } from "../../chain/writeAndWait.ts";
import type { Evidence } from "../../verification/evidence.ts";
import { ServingVerificationArtifact } from "../../chain/contracts.generated.ts";

/** What a fraud report came to: a case opened by this transaction, or one the same receipt had opened already. */
export type ReportOutcome = { caseId: Hex; opened: true; transactionHash: Hex; bond: bigint } | { caseId: Hex; opened: false };

const CASE_EXISTS = toFunctionSelector("CaseExists(bytes32)");

/**
 * Reports evidence of fraud to ServingVerification: approves the report bond (read from the
 * contract) to it, then calls `report` with the receipt, its signature and the plaintext. The same
 * receipt makes the same case (its id is the receipt's EIP-712 digest), so a report the chain
 * already holds is not an error: `opened` is false then, and no bond was taken.
 *
 * @param caseId The case the evidence makes (hashEvidenceReceipt), given back when it existed already.
 * @throws A ContractRevertError for any other refusal (the provider is not registered, too few validators…).
 * @example const outcome = await reportFraud(clients, deployment.servingVerification, evidence, caseId);
 */
export async function reportFraud(clients: ChainClients, servingVerification: Address, token: Address, evidence: Evidence, caseId: Hex): Promise<ReportOutcome> {
  const bond = await clients.public.readContract({ address: servingVerification, abi: ServingVerificationArtifact.abi, functionName: "reportBond" });
  const { signature, ...receipt } = evidence.receipt;
  if (bond > 0n) await writeAndWait(clients, { address: token, abi: erc20Abi, functionName: "approve", args: [servingVerification, bond] });
  try {
    const { hash } = await writeAndWait(clients, {
      address: servingVerification,
      abi: ServingVerificationArtifact.abi,
      functionName: "report",
      args: [evidence.provider, receipt, signature, `0x${Buffer.from(evidence.request).toString("hex")}`, `0x${Buffer.from(evidence.response, "utf8").toString("hex")}`],
    });
    return { caseId, opened: true, transactionHash: hash, bond };
  } catch (error) {
    if (error instanceof ContractRevertError && (error.errorName === "CaseExists" || error.data.toLowerCase().startsWith(CASE_EXISTS))) {
      // Nothing was pulled: give the allowance back, so it never lingers for a later call to take.
      if (bond > 0n) await writeAndWait(clients, { address: token, abi: erc20Abi, functionName: "approve", args: [servingVerification, 0n] }).catch(() => undefined);
      return { caseId, opened: false };
    }
    throw error;
  }
}
