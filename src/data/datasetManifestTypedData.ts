import type { Hex } from "viem";
import { canonicalJson } from "../model/canonicalJson.ts";
import { sha256Hex } from "../model/sha256Hex.ts";
import type { DatasetManifest } from "./datasetManifest.ts";

/** The EIP-712 struct a dataset's creator signs. */
export const DATASET_MANIFEST_TYPES = {
  Dataset: [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "contentHash", type: "bytes32" },
    { name: "manifestContentHash", type: "bytes32" },
    { name: "creator", type: "address" },
  ],
} as const;

/**
 * The EIP-712 typed data of a dataset manifest: the domain binds the chain and the DatasetRegistry,
 * the struct shows a wallet the name, version, files' hash and creator, and `manifestContentHash`
 * (the sha256 of the canonical manifest) covers the rest: licence, owners and shares, sealing.
 *
 * @example await account.signTypedData(datasetManifestTypedData(manifest))
 */
export function datasetManifestTypedData(manifest: DatasetManifest) {
  const manifestContentHash: Hex = `0x${sha256Hex(canonicalJson(manifest))}`;
  return {
    domain: { name: "Gotong DatasetRegistry", version: "1", chainId: manifest.chainId, verifyingContract: manifest.datasetRegistry },
    types: DATASET_MANIFEST_TYPES,
    primaryType: "Dataset",
    message: { name: manifest.name, version: manifest.version, contentHash: manifest.contentHash, manifestContentHash, creator: manifest.creator },
  } as const;
}
