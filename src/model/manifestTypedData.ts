import type { Hex } from "viem";
import { canonicalJson } from "./canonicalJson.ts";
import type { ModelManifest } from "./modelManifest.ts";
import { sha256Hex } from "./sha256Hex.ts";

/** The EIP-712 struct a creator signs. */
export const MANIFEST_TYPES = {
  Manifest: [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "weightsHash", type: "bytes32" },
    { name: "contentHash", type: "bytes32" },
    { name: "creator", type: "address" },
    { name: "royaltyBps", type: "uint16" },
  ],
} as const;

/**
 * The EIP-712 typed data of a manifest. The domain binds the chain and the ModelRegistry; the
 * struct carries what a wallet should show the creator (name, version, weights, creator, royalty)
 * and `contentHash`, the sha256 of the whole canonical manifest, so that every other field (files,
 * licence, format…) is signed too. Changing any field, or replaying the manifest under another
 * name, version or deployment, breaks the signature.
 *
 * @example await account.signTypedData(manifestTypedData(manifest))
 */
export function manifestTypedData(manifest: ModelManifest) {
  const contentHash: Hex = `0x${sha256Hex(canonicalJson(manifest))}`;
  return {
    domain: { name: "Gotong ModelRegistry", version: "1", chainId: manifest.chainId, verifyingContract: manifest.modelRegistry },
    types: MANIFEST_TYPES,
    primaryType: "Manifest",
    message: {
      name: manifest.name,
      version: manifest.version,
      weightsHash: manifest.weightsHash,
      contentHash,
      creator: manifest.creator,
      royaltyBps: manifest.royaltyBps,
    },
  } as const;
}
