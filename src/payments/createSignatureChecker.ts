import * as secp256k1 from "tiny-secp256k1";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { hexToBytes, type Address, type Hex } from "viem";

// Half the curve order: signatures with a higher s are malleable copies, refused on-chain by OpenZeppelin's ECDSA.
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * Checks 65-byte Ethereum signatures over 32-byte digests with libsecp256k1 (WebAssembly), with the
 * same rules as the contract: v of 27 or 28, low s, and recovery to the expected signer. The signer's
 * public key is remembered after its first address check, so later checks skip the keccak of the
 * key and compare 64 bytes. About ten times faster than viem's generic typed-data recovery.
 */
export function createSignatureChecker() {
  const publicKeys = new Map<string, Uint8Array>();
  const equal = (a: Uint8Array, b: Uint8Array) => {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };
  return {
    /** True when `signature` over `digest` recovers to `signer`. Never throws on garbage. */
    isSignedBy(digest: Uint8Array, signature: Hex, signer: Address): boolean {
      if (signature.length !== 132) return false;
      let bytes: Uint8Array;
      try {
        bytes = hexToBytes(signature);
      } catch {
        return false;
      }
      const v = bytes[64]!;
      if (v !== 27 && v !== 28) return false;
      const s = BigInt(`0x${signature.slice(66, 130)}`);
      if (s === 0n || s > HALF_ORDER) return false;
      let recovered: Uint8Array | null;
      try {
        recovered = secp256k1.recover(digest, bytes.subarray(0, 64), (v - 27) as 0 | 1, false);
      } catch {
        return false;
      }
      if (!recovered) return false;
      const key = signer.toLowerCase();
      const known = publicKeys.get(key);
      if (known) return equal(known, recovered);
      const address = keccak_256(recovered.subarray(1)).subarray(12);
      if (!equal(address, hexToBytes(key as Hex))) return false;
      publicKeys.set(key, recovered);
      return true;
    },
  };
}

export type SignatureChecker = ReturnType<typeof createSignatureChecker>;
