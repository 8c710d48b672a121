import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";
import { hpkePrivateKeyInvalidError, hpkePublicKeyInvalidError } from "./errors.ts";

/**
 * X25519 on node:crypto (OpenSSL), with raw 32-byte keys at the edges. Internal to src/privacy.
 *
 * Public keys go in and out as JWK, not DER: OpenSSL 3 parses DER through its generic decoder
 * framework, which costs many times more than the raw-key import JWK maps to (~5 µs here).
 */

/** Length of an X25519 public key, private key and shared secret (RFC 7748). */
export const X25519_KEY_LENGTH = 32;

/** An X25519 key pair: the private key as a KeyObject, the public key as its 32 raw bytes. */
export type X25519KeyPair = { privateKey: KeyObject; publicKey: Uint8Array };

// PKCS#8 header of an X25519 private key (RFC 8410), followed by the 32 raw bytes. Importing a
// private key is rare (key load, DeriveKeyPair), so the robust DER path is fine here.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** Imports 32 raw bytes as an X25519 public KeyObject (any 32 bytes are a valid encoding). */
export function importX25519PublicKey(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== X25519_KEY_LENGTH) {
    throw hpkePublicKeyInvalidError(`expected ${X25519_KEY_LENGTH} bytes, got ${publicKey.length}`);
  }
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString("base64url");
  return createPublicKey({ key: { kty: "OKP", crv: "X25519", x }, format: "jwk" });
}

/** Imports 32 raw bytes as an X25519 private KeyObject (clamping happens inside X25519 itself). */
export function importX25519PrivateKey(privateKey: Uint8Array): KeyObject {
  if (privateKey.length !== X25519_KEY_LENGTH) {
    throw hpkePrivateKeyInvalidError(`expected ${X25519_KEY_LENGTH} bytes, got ${privateKey.length}`);
  }
  const der = Buffer.allocUnsafe(PKCS8_PREFIX.length + X25519_KEY_LENGTH);
  PKCS8_PREFIX.copy(der, 0);
  der.set(privateKey, PKCS8_PREFIX.length);
  try {
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
}

/** The raw 32 bytes of an X25519 public key, or of the public half of a private key. */
export function exportX25519PublicKey(key: KeyObject): Buffer {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return Buffer.from(pub.export({ format: "jwk" }).x!, "base64url");
}

/** Checks that `key` is an X25519 private KeyObject, with a clear error otherwise. */
export function assertX25519PrivateKey(key: KeyObject): void {
  if (key.type !== "private" || key.asymmetricKeyType !== "x25519") {
    throw hpkePrivateKeyInvalidError(`expected an X25519 private key, got a ${key.asymmetricKeyType ?? "secret"} ${key.type} key`);
  }
}

/**
 * A fresh X25519 key pair from the system CSPRNG: one scalar multiplication.
 *
 * The public key is encoded by the key generation itself (`publicKeyEncoding`), never exported
 * from the fresh KeyObject afterwards: on Node 20 (seen on 20.20.2), `publicKey.export()` of a
 * key whose generation job is already garbage can deadlock the thread. The export holds the key's
 * mutex while allocating a string; if that allocation runs a GC which destroys the job, the job's
 * destructor takes the same mutex and the process hangs for good (reproduced within a few
 * thousand calls in a tight loop). Encoded inside the job, the job is still alive. Same cost.
 */
export function generateX25519KeyPair(): X25519KeyPair {
  // @types/node 20 has no overload for a JWK encoding here; Node returns the public key as a JWK.
  const { privateKey, publicKey } = generateKeyPairSync("x25519", { publicKeyEncoding: { format: "jwk" } }) as unknown as {
    privateKey: KeyObject;
    publicKey: { x: string };
  };
  return { privateKey, publicKey: Buffer.from(publicKey.x, "base64url") };
}

/**
 * X25519(sk, pk), or undefined when the result is all zeros: `pk` is a low-order point and the
 * shared secret would be known to anyone (RFC 9180 §7.1.4, RFC 7748 §6.1). OpenSSL already refuses
 * that output; the explicit check keeps the guarantee whatever the backend does.
 */
export function x25519(privateKey: KeyObject, publicKey: KeyObject): Buffer | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    return undefined;
  }
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
  return acc === 0 || shared.length !== X25519_KEY_LENGTH ? undefined : shared;
}
