import type { KeyObject } from "node:crypto";
import { hpkeKeyId } from "./hpkeKeyId.ts";
import { importX25519PublicKey } from "./x25519.ts";

/** A recipient public key as the sender needs it: imported once, with its key id. */
export type RecipientPublicKey = { key: KeyObject; publicKey: Buffer; keyId: Buffer };

// A gateway seals to a handful of providers, over and over: importing their keys once saves a
// KeyObject import and a sha256 per request. Bounded, oldest entry evicted first.
const MAX_ENTRIES = 256;
const cache = new Map<string, RecipientPublicKey>();

/** The imported form of a 32-byte X25519 public key, from a small cache. Internal to src/privacy. */
export function getRecipientPublicKey(publicKey: Uint8Array): RecipientPublicKey {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString("hex");
  let entry = cache.get(id);
  if (entry === undefined) {
    const copy = Buffer.from(publicKey); // the caller may reuse its array
    entry = { key: importX25519PublicKey(copy), publicKey: copy, keyId: hpkeKeyId(copy) };
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(id, entry);
  }
  return entry;
}
