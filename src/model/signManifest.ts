import type { Hex } from "viem";
import { manifestTypedData } from "./manifestTypedData.ts";
import type { ModelManifest, SignedManifest } from "./modelManifest.ts";
import { parseManifest } from "./parseManifest.ts";

/** Anything that signs EIP-712 typed data: a viem `LocalAccount`, or a wallet client bound to an account. */
export type ManifestSigner = { signTypedData(typedData: ReturnType<typeof manifestTypedData>): Promise<Hex> };

/**
 * Signs a manifest as its creator (EIP-712, see `manifestTypedData`). The manifest is checked first
 * so that nothing malformed is ever signed.
 *
 * @example const signed = await signManifest(privateKeyToAccount(key), manifest);
 */
export async function signManifest(signer: ManifestSigner, manifest: ModelManifest): Promise<SignedManifest> {
  parseManifest(manifest);
  const signature = await signer.signTypedData(manifestTypedData(manifest));
  return { manifest, signature };
}
