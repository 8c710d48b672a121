import type { KeyObject } from "node:crypto";
import { bytesToHex, hexToBytes, type PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { isGotongError } from "../common/errors.ts";
import { setupBaseR } from "../privacy/hpke.ts";
import { X25519PrivateKey } from "../privacy/x25519.ts";
import { checkGranterSignature } from "./checkGranterSignature.ts";
import { checkPoolGrantApprovals } from "./checkPoolGrantApprovals.ts";
import { datasetGrantInfo, type DatasetGrant } from "./datasetGrant.ts";
import { DATASET_POOL_GRANT_SCHEMA, type DatasetPoolGrant } from "./datasetPoolGrant.ts";
import { DATASET_KEY_LENGTH } from "./datasetKey.ts";
import { datasetError } from "./errors.ts";
import { parseDatasetGrant } from "./parseDatasetGrant.ts";
import { readDatasetOwner } from "./readDatasetOwner.ts";
import { recoverPoolGrantApprovals } from "./recoverPoolGrantApprovals.ts";

/** What `openDatasetGrant` checks besides the signature. */
export type OpenDatasetGrantOptions = {
  /**
   * When given, the grant must carry the dataset owner's authority on this deployment now: a plain
   * grant's granter owns the dataset; a pool grant's pool owns it and approvals holding more than
   * half its shares at the grant's block are present.
   */
  chain?: { client: PublicClient; deployment: Deployment };
};

/**
 * The trainer's side of a grant: checks its shape and that the granter signed it (and, for a pool
 * grant, that every approval is its holder's signature of this grant, each holder once),
 * optionally the on-chain authority (see `chain`), and opens the dataset key with the trainer's
 * X25519 private key. Throws `dataset_grant_invalid` for a malformed, altered or foreign grant
 * (one sealed to another key fails to open the same way as one altered in transit),
 * `dataset_not_owner` when the granter does not own the dataset, or a pool grant lacks a majority.
 *
 * @example const datasetKey = await openDatasetGrant(grant, hpkeKey.privateKey, { chain: { client, deployment } });
 */
export async function openDatasetGrant(value: unknown, recipientPrivateKey: KeyObject | Uint8Array, options: OpenDatasetGrantOptions = {}): Promise<{ datasetKey: Uint8Array; grant: DatasetGrant | DatasetPoolGrant }> {
  const grant = parseDatasetGrant(value);
  const invalid = (message: string, cause?: unknown) => datasetError("dataset_grant_invalid", message, { hint: "Ask the dataset's owner for a new grant to your current X25519 key.", cause });
  await checkGranterSignature(grant);
  const pooled = grant.schema === DATASET_POOL_GRANT_SCHEMA;
  // Signatures are checked even offline: a forged approval is refused with or without a chain.
  if (pooled) await recoverPoolGrantApprovals(grant);
  if (options.chain !== undefined) {
    const { client, deployment } = options.chain;
    if (deployment.chainId !== grant.chainId) throw invalid(`The grant is for chain ${grant.chainId}, not chain ${deployment.chainId}.`);
    if (pooled) await checkPoolGrantApprovals(client, deployment, grant);
    else {
      const owner = await readDatasetOwner(client, deployment, BigInt(grant.datasetId));
      if (owner.toLowerCase() !== grant.granter.toLowerCase()) {
        throw datasetError("dataset_not_owner", `The grant of dataset #${grant.datasetId} is signed by ${grant.granter}, who does not own it: its token is owned by ${owner}.`, { status: 403, hint: "Only the dataset's owner can grant access: ask them." });
      }
    }
  }
  const privateKey = recipientPrivateKey instanceof Uint8Array ? X25519PrivateKey.fromBytes(recipientPrivateKey) : X25519PrivateKey.fromKeyObject(recipientPrivateKey);
  if (bytesToHex(privateKey.publicKey()) !== grant.recipientPublicKey) throw invalid(`The grant is sealed to ${grant.recipientPublicKey}, not to this key (${bytesToHex(privateKey.publicKey())}).`);
  try {
    const context = setupBaseR(hexToBytes(grant.enc), { privateKey, publicKey: privateKey.publicKey() }, datasetGrantInfo(grant));
    const datasetKey = context.open(hexToBytes(grant.sealedKey), new TextEncoder().encode(grant.granter.toLowerCase()));
    if (datasetKey.length !== DATASET_KEY_LENGTH) throw invalid("The grant does not hold a 32-byte dataset key.");
    return { datasetKey, grant };
  } catch (error) {
    if (isGotongError(error, "dataset_grant_invalid")) throw error;
    throw invalid("The grant's sealed key could not be opened: it was altered, or sealed for another dataset or key.", error);
  }
}
