import { bytesToHex, getAddress, hexToBytes, type Hex, type PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { isGotongError } from "../common/errors.ts";
import { setupBaseS } from "../privacy/hpke.ts";
import { DATASET_GRANT_SCHEMA, datasetGrantInfo, datasetGrantTypedData, type DatasetGrant } from "./datasetGrant.ts";
import { datasetRegistryOf } from "./datasetRegistryOf.ts";
import { DATASET_KEY_LENGTH } from "./datasetKey.ts";
import { datasetError } from "./errors.ts";
import { readDatasetOwner } from "./readDatasetOwner.ts";

/** Who grants: an account that signs EIP-712 typed data (a viem `LocalAccount`). */
export type DatasetGranter = { address: Hex; signTypedData(typedData: ReturnType<typeof datasetGrantTypedData>): Promise<Hex> };

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
 * (a wallet that does not control a dataset cannot grant it), `dataset_not_found`.
 *
 * @example const grant = await grantDatasetAccess(client, deployment, account, { datasetId: 1n, recipientPublicKey, datasetKey });
 */
export async function grantDatasetAccess(client: PublicClient, deployment: Deployment, granter: DatasetGranter, options: GrantDatasetAccessOptions): Promise<DatasetGrant> {
  const { datasetId, datasetKey } = options;
  const text = options.recipientPublicKey.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) {
    throw datasetError("dataset_grant_invalid", `"${text.slice(0, 80)}" is not an X25519 public key: expected 0x and 64 hex digits (32 bytes).`, { status: 400, param: "to", hint: "Ask the trainer for its X25519 public key (its HPKE key)." });
  }
  if (datasetKey.length !== DATASET_KEY_LENGTH) throw datasetError("dataset_key_missing", `A dataset key is ${DATASET_KEY_LENGTH} bytes, not ${datasetKey.length}.`);
  const recipientPublicKey = text.toLowerCase() as Hex;
  const datasetRegistry = getAddress(datasetRegistryOf(deployment));
  const owner = await readDatasetOwner(client, deployment, datasetId);
  const granterAddress = getAddress(granter.address);
  if (owner.toLowerCase() !== granterAddress.toLowerCase()) {
    throw datasetError("dataset_not_owner", `${granterAddress} does not own dataset #${datasetId}: its token is owned by ${owner}, so this wallet cannot grant access to it.`, {
      status: 403,
      hint: "Grant from the key that owns the dataset (--key FILE); a dataset owned by a data pool is granted by the pool.",
    });
  }
  const base = { datasetId: datasetId.toString(), chainId: deployment.chainId, datasetRegistry, granter: granterAddress, recipientPublicKey };
  let context;
  try {
    context = setupBaseS(hexToBytes(recipientPublicKey), datasetGrantInfo(base));
  } catch (error) {
    if (!isGotongError(error, "hpke_public_key_invalid")) throw error;
    throw datasetError("dataset_grant_invalid", `${recipientPublicKey} is not a valid X25519 public key for a grant: ${error.message}`, {
      status: 400,
      param: "to",
      hint: "A low-order point makes the shared secret known to everyone: ask the trainer for its real X25519 public key.",
      cause: error,
    });
  }
  const sealedKey = bytesToHex(context.seal(datasetKey, new TextEncoder().encode(granterAddress.toLowerCase())));
  const unsigned = { ...base, enc: bytesToHex(context.enc), sealedKey };
  const signature = await granter.signTypedData(datasetGrantTypedData(unsigned));
  return { schema: DATASET_GRANT_SCHEMA, ...unsigned, signature };
}
