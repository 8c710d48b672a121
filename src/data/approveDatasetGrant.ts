import { getAddress, type Hex, type PublicClient } from "viem";
import { DataPoolArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { GotongError } from "../common/errors.ts";
import { checkGranterSignature } from "./checkGranterSignature.ts";
import { DATASET_GRANT_APPROVAL_SCHEMA, datasetGrantApprovalTypedData, grantFieldsOf, type DatasetGrantApproval } from "./datasetPoolGrant.ts";
import { datasetError } from "./errors.ts";
import { parseDatasetPoolGrant } from "./parseDatasetGrant.ts";
import { readDatasetPool } from "./readDatasetPool.ts";

/** A pool holder's wallet: an account that signs EIP-712 typed data (a viem `LocalAccount`). */
export type PoolHolder = { address: Hex; signTypedData(typedData: ReturnType<typeof datasetGrantApprovalTypedData>): Promise<Hex> };

/**
 * A pool holder's vote for a grant request: checks the request (its shape, that the key holder
 * signed it, that its pool owns the dataset, and that this holder held shares at the request's
 * block, without which the approval would count for nothing) and signs a `DatasetGrantApproval`
 * of exactly this request: this recipient, this sealed key, this pool, this block. Nothing is
 * sent on-chain. Throws `dataset_grant_invalid`, `dataset_not_owner`.
 *
 * @example const approval = await approveDatasetGrant(client, deployment, account, JSON.parse(requestText));
 */
export async function approveDatasetGrant(client: PublicClient, deployment: Deployment, holder: PoolHolder, requestValue: unknown): Promise<DatasetGrantApproval> {
  const request = parseDatasetPoolGrant(requestValue);
  await checkGranterSignature(request);
  if (request.chainId !== deployment.chainId) throw datasetError("dataset_grant_invalid", `The grant request is for chain ${request.chainId}, not chain ${deployment.chainId}.`);
  const datasetId = BigInt(request.datasetId);
  const pool = await readDatasetPool(client, deployment, datasetId);
  if (pool !== request.pool) throw datasetError("dataset_not_owner", `The grant request names pool ${request.pool}, but dataset #${datasetId} is owned by pool ${pool}.`, { status: 403 });
  const holderAddress = getAddress(holder.address);
  const atBlock = BigInt(request.atBlock);
  let shares: bigint;
  try {
    shares = await client.readContract({ address: pool, abi: DataPoolArtifact.abi, functionName: "balanceOf", args: [holderAddress], blockNumber: atBlock });
  } catch (cause) {
    throw new GotongError(`The node cannot answer the chain's state at block ${atBlock}, so ${holderAddress}'s shares then cannot be read.`, { code: "chain_error", status: 502, hint: "Use an archive node, or ask the key holder for a request counted at a recent block.", cause });
  }
  if (shares === 0n) {
    throw datasetError("dataset_grant_invalid", `${holderAddress} held no shares of pool ${pool} at block ${atBlock}: its approval would count for nothing.`, { status: 403, hint: "Approve from the key that held pool shares at the request's block (--key FILE)." });
  }
  const typedData = datasetGrantApprovalTypedData({ ...grantFieldsOf(request), pool, atBlock: request.atBlock });
  const signature = await holder.signTypedData(typedData);
  return {
    schema: DATASET_GRANT_APPROVAL_SCHEMA,
    chainId: request.chainId,
    datasetRegistry: request.datasetRegistry,
    datasetId: request.datasetId,
    pool,
    recipientPublicKey: request.recipientPublicKey,
    grantHash: typedData.message.grantHash,
    atBlock: request.atBlock,
    holder: holderAddress,
    signature,
  };
}
