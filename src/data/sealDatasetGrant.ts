import { bytesToHex, getAddress, hexToBytes, type Hex } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { isGotongError } from "../common/errors.ts";
import { setupBaseS } from "../privacy/hpke.ts";
import { DATASET_GRANT_SCHEMA, datasetGrantInfo, datasetGrantTypedData, type DatasetGrant } from "./datasetGrant.ts";
import { datasetRegistryOf } from "./datasetRegistryOf.ts";
import { DATASET_KEY_LENGTH } from "./datasetKey.ts";
import { datasetError } from "./errors.ts";

/** Who seals and signs a grant: an account that signs EIP-712 typed data (a viem `LocalAccount`). */
export type DatasetGranter = { address: Hex; signTypedData(typedData: ReturnType<typeof datasetGrantTypedData>): Promise<Hex> };

/**
 * A trainer's X25519 public key as a grant names it (lowercase hex), or `dataset_grant_invalid`
 * when it is not 0x and 64 hex digits.
 */
export function recipientKeyOf(text: string): Hex {
  const trimmed = text.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(trimmed)) {
    throw datasetError("dataset_grant_invalid", `"${trimmed.slice(0, 80)}" is not an X25519 public key: expected 0x and 64 hex digits (32 bytes).`, { status: 400, param: "to", hint: "Ask the trainer for its X25519 public key (its HPKE key)." });
  }
  return trimmed.toLowerCase() as Hex;
}

/** `dataset_key_missing` unless `datasetKey` is a dataset key's length. */
export function checkDatasetKeyLength(datasetKey: Uint8Array) {
  if (datasetKey.length !== DATASET_KEY_LENGTH) throw datasetError("dataset_key_missing", `A dataset key is ${DATASET_KEY_LENGTH} bytes, not ${datasetKey.length}.`);
}

/**
 * Seals the dataset key to the trainer with HPKE (bound to deployment, dataset and recipient by
 * `datasetGrantInfo`, and to the granter as associated data) and signs the `DatasetGrant`. Checks
 * nothing on-chain: whoever calls it decides who may grant. Throws `dataset_grant_invalid` for a
 * low-order public key, which would make the sealed key readable by anyone.
 *
 * @example const grant = await sealDatasetGrant(account, deployment, { datasetId: 1n, recipientPublicKey, datasetKey });
 */
export async function sealDatasetGrant(granter: DatasetGranter, deployment: Deployment, options: { datasetId: bigint; recipientPublicKey: string; datasetKey: Uint8Array }): Promise<DatasetGrant> {
  const recipientPublicKey = recipientKeyOf(options.recipientPublicKey);
  checkDatasetKeyLength(options.datasetKey);
  const granterAddress = getAddress(granter.address);
  const base = { datasetId: options.datasetId.toString(), chainId: deployment.chainId, datasetRegistry: getAddress(datasetRegistryOf(deployment)), granter: granterAddress, recipientPublicKey };
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
  const sealedKey = bytesToHex(context.seal(options.datasetKey, new TextEncoder().encode(granterAddress.toLowerCase())));
  const unsigned = { ...base, enc: bytesToHex(context.enc), sealedKey };
  const signature = await granter.signTypedData(datasetGrantTypedData(unsigned));
  return { schema: DATASET_GRANT_SCHEMA, ...unsigned, signature };
}
