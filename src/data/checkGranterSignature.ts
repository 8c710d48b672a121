import { recoverTypedDataAddress, type Address, type Hex } from "viem";
import { datasetGrantTypedData, type DatasetGrant } from "./datasetGrant.ts";
import { datasetError } from "./errors.ts";

/**
 * `dataset_grant_invalid` unless the grant's signature is its granter's: the sealed key, recipient
 * and dataset are as the granter sealed them.
 *
 * @example await checkGranterSignature(grant);
 */
export async function checkGranterSignature(grant: Omit<DatasetGrant, "schema"> & { signature: Hex }): Promise<void> {
  const hint = "Ask the dataset's owner for a new grant to your current X25519 key.";
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...datasetGrantTypedData(grant), signature: grant.signature });
  } catch (cause) {
    throw datasetError("dataset_grant_invalid", "The grant's signature does not recover to any account.", { hint, cause });
  }
  if (signer.toLowerCase() !== grant.granter.toLowerCase()) throw datasetError("dataset_grant_invalid", `The grant is signed by ${signer}, not by the granter it names (${grant.granter}): it was altered or forged.`, { hint });
}
