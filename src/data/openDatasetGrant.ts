import type { KeyObject } from "node:crypto";
import { bytesToHex, getAddress, hexToBytes, isAddress, recoverTypedDataAddress, type Address, type PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { isGotongError } from "../common/errors.ts";
import { setupBaseR } from "../privacy/hpke.ts";
import { X25519PrivateKey } from "../privacy/x25519.ts";
import { DATASET_GRANT_SCHEMA, datasetGrantInfo, datasetGrantTypedData, type DatasetGrant } from "./datasetGrant.ts";
import { DATASET_KEY_LENGTH } from "./datasetKey.ts";
import { datasetError } from "./errors.ts";
import { readDatasetOwner } from "./readDatasetOwner.ts";

/** What `openDatasetGrant` checks besides the signature. */
export type OpenDatasetGrantOptions = {
  /** When given, the granter must own the dataset on this deployment now. */
  chain?: { client: PublicClient; deployment: Deployment };
};

/**
 * The trainer's side of a grant: checks its shape and that the granter signed it, optionally that
 * the granter owns the dataset on-chain now, and opens the dataset key with the trainer's X25519
 * private key. Throws `dataset_grant_invalid` for a malformed, altered or foreign grant (one sealed
 * to another key fails to open the same way as one altered in transit), `dataset_not_owner` when
 * the granter does not own the dataset.
 *
 * @example const datasetKey = await openDatasetGrant(grant, hpkeKey.privateKey, { chain: { client, deployment } });
 */
export async function openDatasetGrant(value: unknown, recipientPrivateKey: KeyObject | Uint8Array, options: OpenDatasetGrantOptions = {}): Promise<{ datasetKey: Uint8Array; grant: DatasetGrant }> {
  const grant = checkGrant(value);
  const invalid = (message: string, cause?: unknown) => datasetError("dataset_grant_invalid", message, { hint: "Ask the dataset's owner for a new grant to your current X25519 key.", cause });
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...datasetGrantTypedData(grant), signature: grant.signature });
  } catch (cause) {
    throw invalid("The grant's signature does not recover to any account.", cause);
  }
  if (signer.toLowerCase() !== grant.granter.toLowerCase()) throw invalid(`The grant is signed by ${signer}, not by the granter it names (${grant.granter}): it was altered or forged.`);
  if (options.chain !== undefined) {
    const { client, deployment } = options.chain;
    if (deployment.chainId !== grant.chainId) throw invalid(`The grant is for chain ${grant.chainId}, not chain ${deployment.chainId}.`);
    const owner = await readDatasetOwner(client, deployment, BigInt(grant.datasetId));
    if (owner.toLowerCase() !== grant.granter.toLowerCase()) {
      throw datasetError("dataset_not_owner", `The grant of dataset #${grant.datasetId} is signed by ${grant.granter}, who does not own it: its token is owned by ${owner}.`, { status: 403, hint: "Only the dataset's owner can grant access: ask them." });
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

const FIELDS = "chainId,datasetId,datasetRegistry,enc,granter,recipientPublicKey,schema,sealedKey,signature";

/** A grant file's shape, field by field. */
function checkGrant(value: unknown): DatasetGrant {
  const fail = (what: string) => datasetError("dataset_grant_invalid", `The grant ${what}.`, { hint: "A grant is the JSON `gotong data grant` writes: pass it unchanged." });
  if (typeof value !== "object" || value === null || Object.keys(value).sort().join(",") !== FIELDS) throw fail(`must be an object with exactly ${FIELDS.split(",").join(", ")}`);
  const g = value as Record<string, unknown>;
  if (g.schema !== DATASET_GRANT_SCHEMA) throw fail(`schema is ${JSON.stringify(g.schema)}, expected "${DATASET_GRANT_SCHEMA}"`);
  if (typeof g.datasetId !== "string" || !/^[1-9]\d{0,77}$/.test(g.datasetId)) throw fail("datasetId is not a decimal id");
  if (!Number.isSafeInteger(g.chainId) || (g.chainId as number) < 1) throw fail("chainId is not a positive integer");
  for (const key of ["datasetRegistry", "granter"]) if (typeof g[key] !== "string" || !isAddress(g[key] as string, { strict: false })) throw fail(`${key} is not an address`);
  for (const key of ["recipientPublicKey", "enc"]) if (typeof g[key] !== "string" || !/^0x[0-9a-f]{64}$/.test(g[key] as string)) throw fail(`${key} is not 32 bytes of lowercase hex`);
  if (typeof g.sealedKey !== "string" || !/^0x[0-9a-f]{96}$/.test(g.sealedKey)) throw fail("sealedKey is not 48 bytes of lowercase hex");
  if (typeof g.signature !== "string" || !/^0x[0-9a-f]{130}$/.test(g.signature)) throw fail("signature is not 65 bytes of lowercase hex");
  return { ...(g as DatasetGrant), datasetRegistry: getAddress(g.datasetRegistry as string), granter: getAddress(g.granter as string) };
}
