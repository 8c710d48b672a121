import { hashTypedData, type Address, type Hex } from "viem";
import { datasetGrantTypedData, type DatasetGrant } from "./datasetGrant.ts";

/**
 * The schema of a grant of a dataset owned by a data pool. A schema of its own rather than optional
 * fields on `gotong.dataset-grant/1`: a reader that knows only plain grants then refuses a pool
 * grant by name ("schema is …") instead of mistaking it for a plain grant whose granter does not
 * own the dataset, and a plain grant's exact field list, which existing grants rely on, stays as
 * it is.
 */
export const DATASET_POOL_GRANT_SCHEMA = "gotong.dataset-pool-grant/1";

/** The schema of one holder's approval file, as `gotong data approve-grant` writes it. */
export const DATASET_GRANT_APPROVAL_SCHEMA = "gotong.dataset-grant-approval/1";

/** One pool holder's EIP-712 signature approving a pool grant (`datasetGrantApprovalTypedData`). */
export type DatasetGrantApprovalSignature = { holder: Address; signature: Hex };

/**
 * A grant of a pool's dataset: the `DatasetGrant` sealed and signed by the key holder (the
 * granter, who is not the token's owner: the pool is), plus the approvals of pool holders. It is
 * valid when the approving holders held more than half of the pool's shares at block `atBlock`.
 * With no approvals yet it is the *grant request* that holders approve.
 */
export type DatasetPoolGrant = Omit<DatasetGrant, "schema"> & {
  schema: typeof DATASET_POOL_GRANT_SCHEMA;
  /** The DataPool that owns the dataset's token. */
  pool: Address;
  /** Decimal block number at which shares are counted. */
  atBlock: string;
  approvals: DatasetGrantApprovalSignature[];
};

/** A holder's approval as a file: what it approves, in the clear, and the signature. */
export type DatasetGrantApproval = {
  schema: typeof DATASET_GRANT_APPROVAL_SCHEMA;
  chainId: number;
  datasetRegistry: Address;
  datasetId: string;
  pool: Address;
  recipientPublicKey: Hex;
  grantHash: Hex;
  atBlock: string;
} & DatasetGrantApprovalSignature;

/** The EIP-712 struct a pool holder signs to approve a grant. */
export const DATASET_GRANT_APPROVAL_TYPES = {
  DatasetGrantApproval: [
    { name: "datasetId", type: "uint256" },
    { name: "pool", type: "address" },
    { name: "recipientPublicKey", type: "bytes32" },
    { name: "grantHash", type: "bytes32" },
    { name: "atBlock", type: "uint256" },
  ],
} as const;

/** What identifies a grant for its approvals: everything the granter signed. */
type GrantFields = Omit<DatasetGrant, "signature" | "schema">;

/**
 * The EIP-712 digest of the `DatasetGrant` a granter signed. An approval signs it, so an approval
 * is of one sealed key to one recipient from one granter on one deployment: it cannot be moved to
 * another trainer, another sealing of the key, or another granter.
 */
export function datasetGrantHash(grant: GrantFields): Hex {
  return hashTypedData(datasetGrantTypedData(grant));
}

/**
 * The EIP-712 typed data a holder signs to approve a pool grant. Same domain as `DatasetGrant`
 * (chain and DatasetRegistry), so an approval does not replay on another deployment; it binds the
 * pool and the block shares are counted at, so it cannot be counted against another pool or at a
 * block the holder did not agree to. `recipientPublicKey` is also inside `grantHash`: it is named
 * on its own so a wallet shows whom the holder lets in.
 *
 * @example await holder.signTypedData(datasetGrantApprovalTypedData(request))
 */
export function datasetGrantApprovalTypedData(grant: GrantFields & { pool: Address; atBlock: string }) {
  const { domain } = datasetGrantTypedData(grant);
  return {
    domain,
    types: DATASET_GRANT_APPROVAL_TYPES,
    primaryType: "DatasetGrantApproval",
    message: { datasetId: BigInt(grant.datasetId), pool: grant.pool, recipientPublicKey: grant.recipientPublicKey, grantHash: datasetGrantHash(grant), atBlock: BigInt(grant.atBlock) },
  } as const;
}

/** The granter's part of a pool grant, as the plain `DatasetGrant` typed data expects it. */
export function grantFieldsOf(grant: DatasetPoolGrant): GrantFields {
  const { datasetId, chainId, datasetRegistry, granter, recipientPublicKey, enc, sealedKey } = grant;
  return { datasetId, chainId, datasetRegistry, granter, recipientPublicKey, enc, sealedKey };
}
