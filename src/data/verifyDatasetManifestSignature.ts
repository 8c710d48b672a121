import { recoverTypedDataAddress, type Address } from "viem";
import type { SignedDatasetManifest } from "./datasetManifest.ts";
import { datasetManifestTypedData } from "./datasetManifestTypedData.ts";
import { datasetError } from "./errors.ts";
import { parseDatasetManifest } from "./parseDatasetManifest.ts";

/** What the caller expects of a dataset manifest besides a valid signature. */
export type DatasetManifestExpectations = {
  /** Who must have signed it: whoever registered (or is about to register) the dataset. */
  signer?: Address;
  chainId?: number;
  datasetRegistry?: Address;
};

// Half the secp256k1 order: a high-s signature has a twin that verifies too, and content
// addressing needs one envelope per manifest.
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * Checks a signed dataset manifest: well formed, a canonical (low-s) EIP-712 signature recovering
 * to the `creator` it names, and, when given, that creator is the expected signer (the account
 * that registered the dataset) and the deployment is the expected one. Returns the signer. A
 * manifest signed by anyone else is forged: `dataset_manifest_mismatch`, naming both accounts.
 *
 * @example await verifyDatasetManifestSignature(signed, { signer: registrant, chainId, datasetRegistry })
 */
export async function verifyDatasetManifestSignature(signed: SignedDatasetManifest, expected: DatasetManifestExpectations = {}): Promise<Address> {
  const manifest = parseDatasetManifest(signed.manifest);
  const { signature } = signed;
  const forged = (message: string, cause?: unknown) =>
    datasetError("dataset_manifest_mismatch", message, { hint: "Do not trust this dataset manifest: it was altered after signing, or signed by someone other than the dataset's registered owner.", cause });
  if (typeof signature !== "string" || !/^0x[0-9a-f]{130}$/.test(signature)) throw forged("The dataset manifest's signature is not a 65-byte lowercase hex string.");
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = parseInt(signature.slice(130), 16);
  if (s === 0n || s > HALF_N || (v !== 27 && v !== 28)) throw forged("The dataset manifest's signature is not in canonical form (low s, v 27 or 28).");
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...datasetManifestTypedData(manifest), signature });
  } catch (cause) {
    throw forged("The dataset manifest's signature does not recover to any account.", cause);
  }
  if (signer.toLowerCase() !== manifest.creator.toLowerCase()) throw forged(`The dataset manifest's signature recovers to ${signer}, not to the creator it names, ${manifest.creator}.`);
  if (expected.signer !== undefined && signer.toLowerCase() !== expected.signer.toLowerCase()) {
    throw forged(`The dataset manifest is signed by ${signer}, but the dataset is registered (or being registered) by ${expected.signer}.`);
  }
  if (expected.chainId !== undefined && manifest.chainId !== expected.chainId) {
    throw forged(`The dataset manifest is for chain ${manifest.chainId}, not chain ${expected.chainId}.`);
  }
  if (expected.datasetRegistry !== undefined && manifest.datasetRegistry.toLowerCase() !== expected.datasetRegistry.toLowerCase()) {
    throw forged(`The dataset manifest is for the DatasetRegistry at ${manifest.datasetRegistry}, not ${expected.datasetRegistry}.`);
  }
  return signer;
}
