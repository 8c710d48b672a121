import type { PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { DATASET_POOL_GRANT_SCHEMA, type DatasetPoolGrant } from "./datasetPoolGrant.ts";
import { datasetError } from "./errors.ts";
import { readDatasetPool } from "./readDatasetPool.ts";
import { checkDatasetKeyLength, recipientKeyOf, sealDatasetGrant, type DatasetGranter } from "./sealDatasetGrant.ts";

/** Options of `requestPoolGrant`. */
export type RequestPoolGrantOptions = {
  datasetId: bigint;
  /** The trainer's X25519 public key. */
  recipientPublicKey: string;
  /** The dataset's 32-byte key: the key holder (usually the pool's creator) has it. */
  datasetKey: Uint8Array;
  /** The block shares are counted at. Default: the latest block, so the vote is of today's holders. */
  atBlock?: bigint;
};

/**
 * The key holder's first step in granting a pool's dataset: seals the dataset key to the trainer
 * and signs the `DatasetGrant` as for a plain grant, and names the pool and the block its shares
 * are counted at. The result is a *grant request*: a pool grant with no approvals, which the
 * pool's holders approve (`approveDatasetGrant`) and the key holder then completes
 * (`assemblePoolGrant`). The sealing is random, so approvals are of this request's sealed key
 * only: keep the file. Throws `dataset_not_owner` when no data pool owns the dataset (its owner
 * grants it alone), `dataset_grant_invalid` for a bad key or a block after the latest.
 *
 * @example const request = await requestPoolGrant(client, deployment, account, { datasetId: 2n, recipientPublicKey, datasetKey });
 */
export async function requestPoolGrant(client: PublicClient, deployment: Deployment, granter: DatasetGranter, options: RequestPoolGrantOptions): Promise<DatasetPoolGrant> {
  recipientKeyOf(options.recipientPublicKey);
  checkDatasetKeyLength(options.datasetKey);
  const pool = await readDatasetPool(client, deployment, options.datasetId);
  const latest = await client.getBlockNumber();
  const atBlock = options.atBlock ?? latest;
  if (atBlock > latest) throw datasetError("dataset_grant_invalid", `Block ${atBlock} is after the chain's latest (${latest}): shares can only be counted at a block that exists.`, { status: 400, param: "at-block" });
  const grant = await sealDatasetGrant(granter, deployment, options);
  return { ...grant, schema: DATASET_POOL_GRANT_SCHEMA, pool, atBlock: atBlock.toString(), approvals: [] };
}
