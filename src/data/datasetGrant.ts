import type { Address, Hex } from "viem";

/** The schema of a grant file. */
export const DATASET_GRANT_SCHEMA = "gotong.dataset-grant/1";

/**
 * A dataset's key, sealed with HPKE (X25519, HKDF-SHA256, ChaCha20-Poly1305: the suite requests are
 * sealed with) to one trainer's X25519 public key, and signed by the dataset's owner. Only the
 * holder of the matching private key can open it; anyone can check who granted it.
 */
export type DatasetGrant = {
  schema: typeof DATASET_GRANT_SCHEMA;
  /** Decimal string. */
  datasetId: string;
  chainId: number;
  datasetRegistry: Address;
  /** The dataset's owner when the grant was made: the signer. */
  granter: Address;
  /** The trainer's 32-byte X25519 public key. */
  recipientPublicKey: Hex;
  /** HPKE encapsulated key. */
  enc: Hex;
  /** The dataset key sealed in the HPKE context (32 bytes + 16 tag). */
  sealedKey: Hex;
  /** The granter's EIP-712 signature over all of the above (`datasetGrantTypedData`). */
  signature: Hex;
};

/** The EIP-712 struct a granter signs. */
export const DATASET_GRANT_TYPES = {
  DatasetGrant: [
    { name: "datasetId", type: "uint256" },
    { name: "granter", type: "address" },
    { name: "recipientPublicKey", type: "bytes32" },
    { name: "enc", type: "bytes32" },
    { name: "sealedKey", type: "bytes" },
  ],
} as const;

/**
 * The EIP-712 typed data of a grant: the domain is the dataset manifest's (chain and
 * DatasetRegistry), so a grant cannot be replayed on another deployment.
 *
 * @example await account.signTypedData(datasetGrantTypedData(grant))
 */
export function datasetGrantTypedData(grant: Omit<DatasetGrant, "signature" | "schema">) {
  return {
    domain: { name: "Gotong DatasetRegistry", version: "1", chainId: grant.chainId, verifyingContract: grant.datasetRegistry },
    types: DATASET_GRANT_TYPES,
    primaryType: "DatasetGrant",
    message: { datasetId: BigInt(grant.datasetId), granter: grant.granter, recipientPublicKey: grant.recipientPublicKey, enc: grant.enc, sealedKey: grant.sealedKey },
  } as const;
}

/**
 * The HPKE `info` of a grant: binds the sealed key to the deployment, the dataset and the recipient,
 * so a sealed key lifted into another grant does not open.
 */
export function datasetGrantInfo(grant: { chainId: number; datasetRegistry: Address; datasetId: string; recipientPublicKey: Hex }): Uint8Array {
  return new TextEncoder().encode(`gotong dataset grant v1\n${grant.chainId}\n${grant.datasetRegistry.toLowerCase()}\n${grant.datasetId}\n${grant.recipientPublicKey.toLowerCase()}`);
}
