import type { Address, Hex } from "viem";
import type { ModelRelation } from "./modelRelation.ts";

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

/** A model this one was made from, with the share of this model's royalty it is paid. */
export type ManifestParent = {
  /** The parent's registry id, as a decimal string (ids are uint256). */
  modelId: string;
  relation: ModelRelation;
  /** Basis points of this model's royalty that flow to the parent (and on to its own stack). */
  shareBps: number;
};

/** A dataset this model was trained on, with the share of this model's royalty its owners are paid. */
export type ManifestDataset = {
  /** The dataset's DatasetRegistry id, as a decimal string. */
  datasetId: string;
  shareBps: number;
};

/**
 * What the weights are, independent of how they are stored: read from the GGUF header, so that a
 * re-upload or a quantisation of a registered model (other bytes, other weights hash) is still
 * recognised (`computeModelFingerprint`, `findFingerprintMatch`).
 */
export type ModelFingerprint = {
  architecture: string;
  /** sha256 hex of the tensor names and shapes (not their types: a quantisation keeps the shapes). */
  tensorsHash: string;
  tensorCount: number;
  /** sha256 hex of the tokenizer vocabulary (`tokenizer.ggml.tokens`), when the file has one. */
  vocabularyHash?: string;
  vocabularySize?: number;
  /** The `general.base_model.N.{name,organization,repo_url}` fields, as `name|organization|repo_url`. */
  baseModels?: string[];
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
  /** The models it was made from, sorted by id; recorded on-chain by `registerDerivative`. */
  parents?: ManifestParent[];
  /** The datasets it was trained on, sorted by id. */
  datasets?: ManifestDataset[];
  /** What the weights are (GGUF only), for recognising re-uploads and quantisations. */
  fingerprint?: ModelFingerprint;
};

/**
 * A manifest with its creator's EIP-712 signature: the content-addressed file kept in
 * `GOTONG_HOME/manifests/<sha256>.json`, whose sha256 is the registry's `manifestHash`.
 */
export type SignedManifest = { manifest: ModelManifest; signature: Hex };
