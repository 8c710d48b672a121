import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "../../crypto/bytes.ts";

/**
 * A short, comparable name for an HPKE public key: the first 16 bytes of its SHA-256, in groups of
 * four hex digits (as SSH and Signal show keys). Two keys with the same fingerprint are the same key
 * for any practical purpose; the full key is shown beside it for whoever compares by hand.
 *
 * @example keyFingerprint("0x11…11") // "4a5b 01c2 …"
 */
export function keyFingerprint(publicKey: string): string {
  const digest = bytesToHex(sha256(hexToBytes(publicKey))).slice(2, 34);
  return digest.match(/.{4}/g)!.join(" ");
}
