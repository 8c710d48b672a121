import type { Address, Hex } from "viem";
import type { ManifestFile } from "../model/modelManifest.ts";

/** The dataset manifest schema this code writes and reads. */
export const DATASET_MANIFEST_SCHEMA = "gotong.dataset/1";

/** One owner of a dataset and their share of what it earns, in basis points of the whole. */
export type DatasetOwner = { address: Address; shareBps: number };

/**
 * What a dataset's creator signs about it: its files (hashed like a model folder), licence, and who
 * owns it in what shares. Serialised with `canonicalJson`; the sha256 of that is the
 * `manifestContentHash` inside the EIP-712 signature. `chainId` and `datasetRegistry` bind it to one
 * deployment.
 */
export type DatasetManifest = {
  schema: typeof DATASET_MANIFEST_SCHEMA;
  name: string;
  version: string;
  /** Sorted by path; every file of the dataset as it is stored (ciphertext when `sealed`). */
  files: ManifestFile[];
  /** The registry's `contentHash`: `computeWeightsHash(files)`, the same rule as a model's weights hash. */
  contentHash: Hex;
  /** SPDX licence expression (`NOASSERTION` when the creator gave none). */
  license: string;
  /** Sorted by address, no duplicates, shares adding up to exactly 10000 bps. */
  owners: DatasetOwner[];
  /** True when the files are sealed with the dataset key (`sealDatasetFile`): granted, not published. */
  sealed: boolean;
  /** EIP-55 checksummed: who signed it and registers it. */
  creator: Address;
  chainId: number;
  /** EIP-55 checksummed. */
  datasetRegistry: Address;
};

/** A dataset manifest with its creator's EIP-712 signature, stored as `GOTONG_HOME/datasets/<sha256>.json`. */
export type SignedDatasetManifest = { manifest: DatasetManifest; signature: Hex };
