import type { KeyObject } from "node:crypto";
import { inspect } from "node:util";
import sodium from "sodium-native";
import { hpkePrivateKeyInvalidError, hpkePublicKeyInvalidError } from "./errors.ts";

/**
 * X25519 (RFC 7748) on libsodium, with raw 32-byte keys throughout. Internal to src/privacy.
 *
 * Why libsodium and not node:crypto: every node:crypto X25519 call goes through a KeyObject.
 * A fresh key pair costs ~24 µs there (a variable-base scalar multiplication plus the KeyObject
 * and its encoding), and each peer public key must be imported (~5 µs) before a DH. libsodium
 * takes raw bytes and computes a public key with a fixed-base table (~12 µs); the DH itself costs
 * the same in both. That is a third of the X25519 work of a sealed request, which is most of it.
 */

/** Length of an X25519 public key, private key and shared secret (RFC 7748). */
export const X25519_KEY_LENGTH = 32;

/**
 * An X25519 private key. The bytes stay inside: no property, `toJSON` or `inspect` shows them, so
 * a key cannot end up in a log line or a JSON body by accident.
 */
export class X25519PrivateKey {
  readonly #bytes: Buffer;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /**
   * Takes a copy of 32 raw bytes (X25519 clamps them when it uses them, RFC 7748 §5).
   *
   * @throws `hpke_private_key_invalid` for the wrong length
   */
  static fromBytes(bytes: Uint8Array): X25519PrivateKey {
    if (!(bytes instanceof Uint8Array) || bytes.length !== X25519_KEY_LENGTH) {
      throw hpkePrivateKeyInvalidError(`expected ${X25519_KEY_LENGTH} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
    }
    const copy = Buffer.alloc(X25519_KEY_LENGTH); // not from Node's shared pool
    copy.set(bytes);
    return new X25519PrivateKey(copy);
  }

  /**
   * Takes the bytes of a node:crypto X25519 private KeyObject (as a PEM key file loads).
   *
   * @throws `hpke_private_key_invalid` for a public, secret or non-X25519 key
   */
  static fromKeyObject(key: KeyObject): X25519PrivateKey {
    if (key.type !== "private" || key.asymmetricKeyType !== "x25519") {
      throw hpkePrivateKeyInvalidError(`expected an X25519 private key, got a ${key.asymmetricKeyType ?? "secret"} ${key.type} key`);
    }
    const raw = Buffer.from(key.export({ format: "jwk" }).d!, "base64url");
    try {
      return X25519PrivateKey.fromBytes(raw);
    } finally {
      sodium.sodium_memzero(raw);
    }
  }

  /** The public key, X25519(sk, 9). */
  publicKey(): Buffer {
    const out = Buffer.alloc(X25519_KEY_LENGTH);
    sodium.crypto_scalarmult_base(out, this.#bytes);
    return out;
  }

  /**
   * X25519(sk, pk), or undefined when the result is all zeros: `pk` is a low-order point and the
   * shared secret would be known to anyone (RFC 9180 §7.1.4, RFC 7748 §6.1).
   */
  dh(publicKey: Uint8Array): Buffer | undefined {
    const shared = Buffer.allocUnsafe(X25519_KEY_LENGTH);
    return scalarMult(shared, this.#bytes, publicKey) ? shared : undefined;
  }

  toJSON(): string {
    return "[X25519PrivateKey]";
  }

  [inspect.custom](): string {
    return "X25519PrivateKey { <redacted> }";
  }
}

/** An X25519 key pair: the private key, and the public key as its 32 raw bytes. */
export type X25519KeyPair = { privateKey: X25519PrivateKey; publicKey: Uint8Array };

/** Checks that `key` is an {@link X25519PrivateKey}, with a clear error otherwise. */
export function assertX25519PrivateKey(key: unknown): asserts key is X25519PrivateKey {
  if (!(key instanceof X25519PrivateKey)) {
    throw hpkePrivateKeyInvalidError(`expected an X25519 private key, got ${describe(key)}`);
  }
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "an object";
}

/** Checks the length of a public key; any 32 bytes are a valid encoding (RFC 7748 §5). */
export function assertX25519PublicKey(publicKey: Uint8Array): void {
  if (publicKey.length !== X25519_KEY_LENGTH) {
    throw hpkePublicKeyInvalidError(`expected ${X25519_KEY_LENGTH} bytes, got ${publicKey.length}`);
  }
}

// The sender's ephemeral secret lives here for the length of one synchronous call and is wiped
// before it returns: it never reaches a KeyObject, the JS heap of a caller, or a second request.
const ephemeralScratch = Buffer.alloc(X25519_KEY_LENGTH);

/**
 * Encap's X25519 half with a fresh ephemeral key: enc = X25519(ske, 9), dh = X25519(ske, pkR).
 *
 * @returns undefined when `recipientPublicKey` is a low-order point (the DH would be all zeros)
 */
export function x25519Ephemeral(recipientPublicKey: Uint8Array): { enc: Buffer; dh: Buffer } | undefined {
  const enc = Buffer.allocUnsafe(X25519_KEY_LENGTH);
  const dh = Buffer.allocUnsafe(X25519_KEY_LENGTH);
  sodium.randombytes_buf(ephemeralScratch);
  try {
    sodium.crypto_scalarmult_base(enc, ephemeralScratch);
    if (!scalarMult(dh, ephemeralScratch, recipientPublicKey)) return undefined;
  } finally {
    sodium.sodium_memzero(ephemeralScratch);
  }
  return { enc, dh };
}

/**
 * X25519(scalar, point) into `out`; false when the result is all zeros. libsodium already refuses
 * that output; the explicit check keeps the guarantee whatever the backend does.
 */
function scalarMult(out: Buffer, scalar: Uint8Array, point: Uint8Array): boolean {
  try {
    sodium.crypto_scalarmult(out, scalar, point);
  } catch {
    out.fill(0);
    return false;
  }
  let acc = 0;
  for (let i = 0; i < out.length; i++) acc |= out[i]!;
  return acc !== 0;
}
