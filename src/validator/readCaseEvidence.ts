import { decodeFunctionData, getAddress, type Hex, type Log, type PublicClient } from "viem";
import { GotongError } from "../common/errors.ts";
import type { Evidence } from "../verification/index.ts";
import { ServingVerificationArtifact } from "../chain/contracts.generated.ts";

type ReceiptData = {
  requestId: Hex; channelId: Hex; weightsHash: Hex; inputTokens: bigint; outputTokens: bigint;
  cost: bigint; cumulativeOwed: bigint; requestHash: Hex; responseHash: Hex;
};

/** Evidence from `report`'s arguments (the same in the EvidenceSubmitted event and the calldata). */
export function evidenceOf(provider: Hex, receipt: ReceiptData, signature: Hex, request: Hex, response: Hex): Evidence {
  return {
    provider: getAddress(provider),
    receipt: { ...receipt, signature },
    request: new Uint8Array(Buffer.from(request.slice(2), "hex")),
    response: Buffer.from(response.slice(2), "hex").toString("utf8"),
  };
}

/**
 * The evidence of a case: from the EvidenceSubmitted event ServingVerification emits beside
 * CaseOpened, and, failing that (a deployment that does not emit it), from the report
 * transaction's calldata. The calldata path only works for a report sent straight to the contract,
 * not through another contract (an agent wallet), hence the event first.
 *
 * @example const evidence = await readCaseEvidence(client, servingVerification, caseOpenedLog);
 */
export async function readCaseEvidence(client: Pick<PublicClient, "getLogs" | "getTransaction">, servingVerification: Hex, opened: Log & { args: { caseId?: Hex; provider?: Hex } }): Promise<Evidence> {
  const caseId = opened.args.caseId!;
  const logs = await client.getLogs({
    address: servingVerification,
    event: ServingVerificationArtifact.abi.find((x) => x.type === "event" && x.name === "EvidenceSubmitted") as Extract<(typeof ServingVerificationArtifact.abi)[number], { name: "EvidenceSubmitted" }>,
    args: { caseId },
    fromBlock: opened.blockNumber!,
    toBlock: opened.blockNumber!,
    strict: true,
  });
  const submitted = logs[0];
  if (submitted) {
    const { receipt, signature, request, response } = submitted.args;
    return evidenceOf(opened.args.provider!, receipt, signature, request, response);
  }
  const tx = await client.getTransaction({ hash: opened.transactionHash! });
  let call;
  try {
    call = decodeFunctionData({ abi: ServingVerificationArtifact.abi, data: tx.input });
  } catch (cause) {
    throw new GotongError(`Case ${caseId} has no EvidenceSubmitted event and its transaction ${tx.hash} is not a direct report call`, { code: "not_found", status: 404, cause });
  }
  if (call.functionName !== "report") throw new GotongError(`Case ${caseId}'s transaction ${tx.hash} calls ${call.functionName}, not report`, { code: "not_found", status: 404 });
  const [provider, receipt, signature, request, response] = call.args;
  return evidenceOf(provider, receipt, signature, request, response);
}
