import { getAddress, type PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import type { DatasetGrant } from "./datasetGrant.ts";
import { datasetError } from "./errors.ts";
import { readDatasetOwner } from "./readDatasetOwner.ts";
import { checkDatasetKeyLength, recipientKeyOf, sealDatasetGrant, type DatasetGranter } from "./sealDatasetGrant.ts";

export type { DatasetGranter } from "./sealDatasetGrant.ts";

/** Options of `grantDatasetAccess`. */
export type GrantDatasetAccessOptions = {
  datasetId: bigint;
  /** The trainer's X25519 public key, 0x and 64 hex digits (e.g. its `gotong … hpke` key). */
  recipientPublicKey: string;
  /** The dataset's 32-byte key (`loadDatasetKey`). */
  datasetKey: Uint8Array;
};

/**
 * Grants a trainer access to a sealed dataset: checks that `recipientPublicKey` is a usable X25519
 * public key (32 bytes, not a low-order point, which would make the sealed key readable by anyone)
 * and that the granter's wallet owns the dataset's token on-chain *now*, then seals the dataset key
 * to the trainer with HPKE and signs the grant. Nothing is sent on-chain. Throws
 * `dataset_grant_invalid` for a bad key, `dataset_not_owner` when someone else owns the dataset
 * (a wallet that does not control a dataset cannot grant it), `dataset_not_found`. A dataset owned
 * by a data pool is granted with `requestPoolGrant` and its holders' approvals instead.
 *
 * @example const grant = await grantDatasetAccess(client, deployment, account, { datasetId: 1n, recipientPublicKey, datasetKey });
 */
export async function grantDatasetAccess(client: PublicClient, deployment: Deployment, granter: DatasetGranter, options: GrantDatasetAccessOptions): Promise<DatasetGrant> {
  const { datasetId } = options;
  // Input is checked before the chain is asked, so a typo fails fast and offline.
  recipientKeyOf(options.recipientPublicKey);
  checkDatasetKeyLength(options.datasetKey);
  const owner = await readDatasetOwner(client, deployment, datasetId);
  const granterAddress = getAddress(granter.address);
  if (owner.toLowerCase() !== granterAddress.toLowerCase()) {
    throw datasetError("dataset_not_owner", `${granterAddress} does not own dataset #${datasetId}: its token is owned by ${owner}, so this wallet cannot grant access to it.`, {
      status: 403,
      hint: "Grant from the key that owns the dataset (--key FILE); a dataset owned by a data pool is granted by its holders' approvals (`gotong data approve-grant`).",
    });
  }
  return sealDatasetGrant(granter, deployment, options);
}
