import { hpkeKeyId } from "./hpkeKeyId.ts";
import { assertX25519PublicKey } from "./x25519.ts";

/** A recipient public key as the sender needs it: a private copy, checked once, with its key id. */
export type RecipientPublicKey = { publicKey: Buffer; keyId: Buffer };

// A gateway seals to a handful of providers, over and over: checking and hashing their keys once
// saves a sha256 per request. Bounded, oldest entry evicted first.
const MAX_ENTRIES = 256;
const cache = new Map<string, RecipientPublicKey>();

/** The checked form of a 32-byte X25519 public key, from a small cache. Internal to src/privacy. */
export function getRecipientPublicKey(publicKey: Uint8Array): RecipientPublicKey {
  assertX25519PublicKey(publicKey);
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString("hex");
  let entry = cache.get(id);
  if (entry === undefined) {
    const copy = Buffer.from(publicKey); // the caller may reuse its array
    entry = { publicKey: copy, keyId: hpkeKeyId(copy) };
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(id, entry);
  }
  return entry;
}
