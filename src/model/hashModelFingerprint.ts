import { encodeAbiParameters, keccak256, zeroHash, type Hex } from "viem";
import type { ModelFingerprint } from "./modelManifest.ts";

/** Versions the encoding below: a change to the fields hashed is a new tag, never a silent change. */
export const FINGERPRINT_HASH_TAG = "gotong.model-fingerprint/1";

/**
 * The hash of a fingerprint that `ModelRegistry` records at registration (`ModelFingerprinted`),
 * over exactly the fields `findFingerprintMatch` compares for its strong match: the architecture,
 * the tensors hash and the vocabulary hash. The canonical encoding is
 * `keccak256(abi.encode(string tag, string architecture, bytes32 tensorsHash, bytes32 vocabularyHash))`,
 * with `vocabularyHash` zero for a file without a vocabulary; the counts and the base-model names
 * are left out (the tensors hash already fixes the count, and names are matched as names). Two
 * fingerprints hash alike exactly when those three fields are equal.
 *
 * @example const fingerprint = hashModelFingerprint(computeModelFingerprint(headers)!);
 */
export function hashModelFingerprint(fingerprint: Pick<ModelFingerprint, "architecture" | "tensorsHash" | "vocabularyHash">): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "string" }, { type: "string" }, { type: "bytes32" }, { type: "bytes32" }],
      [FINGERPRINT_HASH_TAG, fingerprint.architecture, `0x${fingerprint.tensorsHash}`, fingerprint.vocabularyHash === undefined ? zeroHash : `0x${fingerprint.vocabularyHash}`],
    ),
  );
}
