import type { Hex } from "viem";
import type { DatasetManifest, SignedDatasetManifest } from "./datasetManifest.ts";
import { datasetManifestTypedData } from "./datasetManifestTypedData.ts";
import { parseDatasetManifest } from "./parseDatasetManifest.ts";

/** Anything that signs EIP-712 typed data: a viem `LocalAccount`, or a wallet client bound to an account. */
export type DatasetManifestSigner = { signTypedData(typedData: ReturnType<typeof datasetManifestTypedData>): Promise<Hex> };

/**
 * Signs a dataset manifest as its creator (EIP-712), after checking it, so nothing malformed is signed.
 *
 * @example const signed = await signDatasetManifest(privateKeyToAccount(key), manifest);
 */
export async function signDatasetManifest(signer: DatasetManifestSigner, manifest: DatasetManifest): Promise<SignedDatasetManifest> {
  parseDatasetManifest(manifest);
  return { manifest, signature: await signer.signTypedData(datasetManifestTypedData(manifest)) };
}
