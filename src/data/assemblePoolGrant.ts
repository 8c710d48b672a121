import type { PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { checkGranterSignature } from "./checkGranterSignature.ts";
import { checkPoolGrantApprovals, type PoolGrantTally } from "./checkPoolGrantApprovals.ts";
import { datasetGrantHash, grantFieldsOf, type DatasetGrantApproval, type DatasetPoolGrant } from "./datasetPoolGrant.ts";
import { datasetError } from "./errors.ts";
import { parseDatasetGrantApproval, parseDatasetPoolGrant } from "./parseDatasetGrant.ts";

/**
 * The key holder's last step: puts the holders' approvals into the grant request and checks the
 * result as the trainer will (`checkPoolGrantApprovals`), so a grant without a majority is refused
 * here rather than by the trainer. An approval of another request (other recipient, sealed key,
 * pool, block or deployment) is refused by name; the same holder's approval given twice (two
 * copies of the file) is kept once, so its shares count once. Throws `dataset_grant_invalid`,
 * `dataset_not_owner` (no majority: names the approving shares and what was needed).
 *
 * @example const { grant, tally } = await assemblePoolGrant(client, deployment, request, approvals);
 */
export async function assemblePoolGrant(client: PublicClient, deployment: Deployment, requestValue: unknown, approvalValues: unknown[]): Promise<{ grant: DatasetPoolGrant; tally: PoolGrantTally }> {
  const request = parseDatasetPoolGrant(requestValue);
  await checkGranterSignature(request);
  const grantHash = datasetGrantHash(grantFieldsOf(request));
  const byHolder = new Map<string, DatasetGrantApproval>();
  for (const value of approvalValues) {
    const approval = parseDatasetGrantApproval(value);
    const mismatch = approvalMismatch(approval, request, grantHash);
    if (mismatch !== undefined) throw datasetError("dataset_grant_invalid", `${approval.holder}'s approval is not of this grant request: its ${mismatch}.`, { hint: "Have the holder approve this request file (`gotong data approve-grant REQUEST`)." });
    if (!byHolder.has(approval.holder.toLowerCase())) byHolder.set(approval.holder.toLowerCase(), approval);
  }
  const grant: DatasetPoolGrant = { ...request, approvals: [...byHolder.values()].map(({ holder, signature }) => ({ holder, signature })) };
  const tally = await checkPoolGrantApprovals(client, deployment, grant);
  return { grant, tally };
}

/** Which field of an approval names another grant than `request`, if any. */
function approvalMismatch(approval: DatasetGrantApproval, request: DatasetPoolGrant, grantHash: string): string | undefined {
  if (approval.chainId !== request.chainId) return `chainId is ${approval.chainId}, not ${request.chainId}`;
  if (approval.datasetRegistry !== request.datasetRegistry) return `datasetRegistry is ${approval.datasetRegistry}, not ${request.datasetRegistry}`;
  if (approval.datasetId !== request.datasetId) return `datasetId is ${approval.datasetId}, not ${request.datasetId}`;
  if (approval.pool !== request.pool) return `pool is ${approval.pool}, not ${request.pool}`;
  if (approval.recipientPublicKey !== request.recipientPublicKey) return `recipientPublicKey is ${approval.recipientPublicKey}, not ${request.recipientPublicKey}`;
  if (approval.atBlock !== request.atBlock) return `atBlock is ${approval.atBlock}, not ${request.atBlock}`;
  if (approval.grantHash !== grantHash) return `grantHash is ${approval.grantHash}, not ${grantHash} (another sealing of the key)`;
  return undefined;
}
