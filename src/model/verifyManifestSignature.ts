import { recoverTypedDataAddress, type Address } from "viem";
import { GotongError } from "../common/errors.ts";
import { manifestTypedData } from "./manifestTypedData.ts";
import type { SignedManifest } from "./modelManifest.ts";
import { parseManifest } from "./parseManifest.ts";

/** What the caller expects of a manifest besides a valid signature. */
export type ManifestExpectations = {
  /** The account that must have signed it (e.g. whoever registered the model). */
  creator?: Address;
  /** The deployment it must be bound to. */
  chainId?: number;
  modelRegistry?: Address;
};

// Half the secp256k1 order: a signature with a larger s has a twin (n − s) that verifies too, and
// content addressing needs one envelope per manifest.
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * Checks a signed manifest: well formed, signed with a canonical (low-s) EIP-712 signature that
 * recovers to the `creator` it names, and, when given, from the expected creator and deployment.
 * Returns the signer. Throws `manifest_signature_invalid` for a signature that is not one,
 * `manifest_signature_mismatch` when it recovers to another account, `manifest_wrong_creator` and
 * `manifest_wrong_deployment` when the expectations are not met.
 *
 * @example await verifyManifestSignature(signed, { chainId: 31337, modelRegistry })
 */
export async function verifyManifestSignature(signed: SignedManifest, expected: ManifestExpectations = {}): Promise<Address> {
  const manifest = parseManifest(signed.manifest);
  const { signature } = signed;
  if (typeof signature !== "string" || !/^0x[0-9a-f]{130}$/.test(signature)) {
    throw invalid("The manifest signature is not a 65-byte lowercase hex string.");
  }
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = parseInt(signature.slice(130), 16);
  if (s === 0n || s > HALF_N || (v !== 27 && v !== 28)) throw invalid("The manifest signature is not in canonical form (low s, v 27 or 28).");
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...manifestTypedData(manifest), signature });
  } catch (cause) {
    throw invalid("The manifest signature does not recover to any account.", cause);
  }
  if (signer.toLowerCase() !== manifest.creator.toLowerCase()) {
    throw new GotongError(`The manifest signature is not the creator's: it recovers to ${signer}, but the manifest names ${manifest.creator}.`, {
      code: "manifest_signature_mismatch",
      status: 422,
      hint: "The manifest was altered after signing (another name, version, file or term) or signed by someone else: do not trust it. Publish it again from the creator's key.",
    });
  }
  if (expected.creator !== undefined && expected.creator.toLowerCase() !== manifest.creator.toLowerCase()) {
    throw new GotongError(`The manifest is signed by ${manifest.creator}, not by ${expected.creator}.`, {
      code: "manifest_wrong_creator",
      status: 422,
      hint: "A valid signature from the wrong creator: this is someone else's manifest for these weights.",
    });
  }
  if ((expected.chainId !== undefined && expected.chainId !== manifest.chainId) || (expected.modelRegistry !== undefined && expected.modelRegistry.toLowerCase() !== manifest.modelRegistry.toLowerCase())) {
    throw new GotongError(
      `The manifest was signed for chain ${manifest.chainId}, registry ${manifest.modelRegistry}, not for chain ${expected.chainId ?? manifest.chainId}, registry ${expected.modelRegistry ?? manifest.modelRegistry}.`,
      { code: "manifest_wrong_deployment", status: 422, hint: "A manifest is valid on one deployment only: publish the model again on this one." },
    );
  }
  return signer;
}

function invalid(message: string, cause?: unknown): GotongError {
  return new GotongError(message, { code: "manifest_signature_invalid", status: 422, hint: "The manifest is corrupt or forged: do not trust it.", cause });
}
