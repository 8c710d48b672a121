import type { Address, Hex } from "viem";

/** The manifest schema this code writes and reads. */
export const MANIFEST_SCHEMA = "gotong.manifest/1";

/** One file of a model, as its manifest lists it. */
export type ManifestFile = {
  /** Relative POSIX path inside the model's folder (for a single file, its name). */
  path: string;
  /** Lowercase hex sha256, without `0x`. */
  sha256: string;
  /** Bytes. */
  size: number;
};

/**
 * What a creator signs about a model. Serialised with `canonicalJson`; hashed, that is the
 * `contentHash` inside the EIP-712 signature. `chainId` and `modelRegistry` bind it to one
 * deployment, so it cannot be replayed on another.
 */
export type ModelManifest = {
  schema: typeof MANIFEST_SCHEMA;
  name: string;
  version: string;
  format: "gguf" | "safetensors";
  /** Sorted by path; every file of the model, weights and the JSON that goes with them. */
  files: ManifestFile[];
  /** What the registry knows the model by: see `computeWeightsHash`. */
  weightsHash: Hex;
  /** From the file header: GGUF `general.architecture`, safetensors `__metadata__` or config.json. */
  architecture: string;
  parameterCount?: number;
  contextLength?: number;
  /** SPDX licence expression, e.g. `Apache-2.0` (`NOASSERTION` when the creator gave none). */
  license: string;
  royaltyBps: number;
  /** EIP-55 checksummed. */
  creator: Address;
  chainId: number;
  /** EIP-55 checksummed. */
  modelRegistry: Address;
};

/**
 * A manifest with its creator's EIP-712 signature: the content-addressed file kept in
 * `GOTONG_HOME/manifests/<sha256>.json`, whose sha256 is the registry's `manifestHash`.
 */
export type SignedManifest = { manifest: ModelManifest; signature: Hex };
