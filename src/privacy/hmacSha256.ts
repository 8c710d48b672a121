import sodium from "sodium-native";

/**
 * HMAC-SHA256 (RFC 2104) on libsodium's one-shot SHA-256. Internal to src/privacy.
 *
 * Why not node:crypto's createHmac: a sealed round trip runs eighteen HMACs over short inputs, and
 * for those the HMAC object Node builds per call (an OpenSSL 3 EVP_MAC fetch and key setup) costs
 * more than the two hashes themselves. Two scratch buffers are reused for every call (everything
 * here is synchronous) and wiped before returning, so no key-derived pad stays behind.
 */

const BLOCK = 64;
const DIGEST = 32;
/** Inputs up to this size reuse one scratch buffer; a longer one (a huge export context) gets its own. */
const MAX_KEPT_SCRATCH = 64 * 1024;

let innerScratch = Buffer.alloc(BLOCK + 512); // ipad block || message
const outer = Buffer.alloc(BLOCK + DIGEST); // opad block || inner digest
const innerDigest = outer.subarray(BLOCK);

/**
 * HMAC-SHA256(key, parts[0] || parts[1] || …), without concatenating the parts first.
 *
 * @example hmacSha256(prk, [label, info, Uint8Array.of(1)])
 */
export function hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): Buffer {
  if (key.length > BLOCK) key = sha256(key); // RFC 2104 §2: a longer key is hashed first
  let length = BLOCK;
  for (const part of parts) length += part.length;
  const inner = scratchFor(length);
  try {
    writePad(inner, key, 0x36);
    writePad(outer, key, 0x5c);
    let offset = BLOCK;
    for (const part of parts) {
      inner.set(part, offset);
      offset += part.length;
    }
    sodium.crypto_hash_sha256(innerDigest, inner.subarray(0, length));
    return sha256(outer);
  } finally {
    inner.fill(0, 0, length);
    outer.fill(0);
  }
}

function writePad(block: Buffer, key: Uint8Array, pad: number): void {
  for (let i = 0; i < BLOCK; i++) block[i] = (i < key.length ? key[i]! : 0) ^ pad;
}

function scratchFor(length: number): Buffer {
  if (length <= innerScratch.length) return innerScratch;
  if (length > MAX_KEPT_SCRATCH) return Buffer.alloc(length);
  innerScratch = Buffer.alloc(Math.min(MAX_KEPT_SCRATCH, Math.max(length, innerScratch.length * 2)));
  return innerScratch;
}

function sha256(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(DIGEST);
  sodium.crypto_hash_sha256(out, input);
  return out;
}
