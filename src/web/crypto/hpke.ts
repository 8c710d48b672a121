import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8 } from "./bytes.ts";
import { hpkePublicKeyInvalidError } from "./errors.ts";

/**
 * HPKE (RFC 9180) for the browser, sender side only, base mode, the one suite Gotong uses:
 * DHKEM(X25519, HKDF-SHA256) · HKDF-SHA256 · ChaCha20-Poly1305. Pure JavaScript (noble), since
 * WebCrypto has no ChaCha20-Poly1305; byte for byte what `src/privacy/hpke.ts` does on libsodium
 * (the vectors and interop tests in test/web check both).
 */

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const VERSION = utf8("HPKE-v1");
const KEM_SUITE = new Uint8Array([0x4b, 0x45, 0x4d, KEM_ID >> 8, KEM_ID & 0xff]);
const HPKE_SUITE = new Uint8Array([0x48, 0x50, 0x4b, 0x45, KEM_ID >> 8, KEM_ID & 0xff, KDF_ID >> 8, KDF_ID & 0xff, AEAD_ID >> 8, AEAD_ID & 0xff]);
const EMPTY = new Uint8Array(0);

/** Length of an X25519 key and of `enc`. */
export const X25519_KEY_LENGTH = 32;

function labeledExtract(suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return hmac(sha256, salt, concatBytes(VERSION, suite, utf8(label), ikm));
}

/** LabeledExpand for L ≤ 32 (every length the key schedule and Gotong's export use): one HMAC. */
function labeledExpand(suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  if (length > 32) throw new RangeError("labeledExpand here supports at most 32 bytes");
  const t = hmac(sha256, prk, concatBytes(new Uint8Array([length >> 8, length & 0xff]), VERSION, suite, utf8(label), info, new Uint8Array([1])));
  return t.subarray(0, length);
}

/**
 * base_nonce XOR I2OSP(n, 12) for n < 2^32, the only counters the browser meets (a request envelope
 * seals one message; a response stream's index is a uint32).
 */
export function computeNonce(baseNonce: Uint8Array, n: number): Uint8Array {
  const nonce = baseNonce.slice();
  nonce[8]! ^= (n >>> 24) & 0xff;
  nonce[9]! ^= (n >>> 16) & 0xff;
  nonce[10]! ^= (n >>> 8) & 0xff;
  nonce[11]! ^= n & 0xff;
  return nonce;
}

/** The sender's context after SetupBaseS: seal at sequence 0 and export. */
export type HpkeSender = {
  /** The encapsulated key (the ephemeral public key). */
  enc: Uint8Array;
  /** Seals one message with the next sequence number. */
  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Export(exporter_context, L) for L ≤ 32. */
  export(exporterContext: Uint8Array, length: number): Uint8Array;
};

/** Options of {@link setupBaseS}. */
export type SetupOptions = {
  /** The ephemeral private key; only for reproducing test vectors. Default: 32 fresh random bytes. */
  ephemeralPrivateKey?: Uint8Array;
};

/**
 * SetupBaseS(pkR, info): encapsulates to the recipient's X25519 key.
 *
 * @param recipientPublicKey the provider's 32-byte X25519 public key
 * @param info the context both sides bind (`createRequestInfo`)
 * @throws `hpke_public_key_invalid` for a wrong length or a low-order point
 * @example const ctx = setupBaseS(providerKey, info); const ct = ctx.seal(body, aad);
 */
export function setupBaseS(recipientPublicKey: Uint8Array, info: Uint8Array, options: SetupOptions = {}): HpkeSender {
  if (recipientPublicKey.length !== X25519_KEY_LENGTH) {
    throw hpkePublicKeyInvalidError(`expected ${X25519_KEY_LENGTH} bytes, got ${recipientPublicKey.length}`);
  }
  const skE = options.ephemeralPrivateKey?.slice() ?? x25519.utils.randomSecretKey();
  const enc = x25519.getPublicKey(skE);
  let dh: Uint8Array;
  try {
    dh = x25519.getSharedSecret(skE, recipientPublicKey);
  } catch {
    throw hpkePublicKeyInvalidError("it is a low-order point, the shared secret would be all zeros");
  }
  let zero = 0;
  for (const b of dh) zero |= b;
  if (zero === 0) throw hpkePublicKeyInvalidError("it is a low-order point, the shared secret would be all zeros");
  // ExtractAndExpand(dh, kem_context = enc || pkR)
  const eaePrk = labeledExtract(KEM_SUITE, EMPTY, "eae_prk", dh);
  const sharedSecret = labeledExpand(KEM_SUITE, eaePrk, "shared_secret", concatBytes(enc, recipientPublicKey), 32);
  dh.fill(0);
  skE.fill(0);
  // KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "")
  const pskIdHash = labeledExtract(HPKE_SUITE, EMPTY, "psk_id_hash", EMPTY);
  const infoHash = labeledExtract(HPKE_SUITE, EMPTY, "info_hash", info);
  const context = concatBytes(new Uint8Array([0]), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, "secret", EMPTY);
  const key = labeledExpand(HPKE_SUITE, secret, "key", context, 32);
  const baseNonce = labeledExpand(HPKE_SUITE, secret, "base_nonce", context, 12);
  const exporterSecret = labeledExpand(HPKE_SUITE, secret, "exp", context, 32);
  let seq = 0;
  return {
    enc,
    seal(plaintext, aad) {
      return chacha20poly1305(key, computeNonce(baseNonce, seq++), aad).encrypt(plaintext);
    },
    export(exporterContext, length) {
      return labeledExpand(HPKE_SUITE, exporterSecret, "sec", exporterContext, length);
    },
  };
}
