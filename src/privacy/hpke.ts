import { AEAD_TAG_LENGTH, aeadOpen, aeadSealInto } from "./aead.ts";
import { hmacSha256 } from "./hmacSha256.ts";
import {
  envelopeInvalidError,
  hpkeArgumentInvalidError,
  hpkePublicKeyInvalidError,
  hpkeSequenceExhaustedError,
} from "./errors.ts";
import { getRecipientPublicKey, type RecipientPublicKey } from "./recipientPublicKeyCache.ts";
import {
  X25519_KEY_LENGTH,
  X25519PrivateKey,
  assertX25519PrivateKey,
  assertX25519PublicKey,
  x25519Ephemeral,
  type X25519KeyPair,
} from "./x25519.ts";

/**
 * HPKE (RFC 9180), base mode, one suite: DHKEM(X25519, HKDF-SHA256) · HKDF-SHA256 ·
 * ChaCha20-Poly1305, on libsodium (see x25519.ts, aead.ts and hmacSha256.ts for why not node:crypto).
 *
 * Cost of a setup: the sender does one X25519 key generation and one DH, the recipient one DH;
 * everything else is a handful of HMAC-SHA256 calls (LabeledExtract is one HMAC, LabeledExpand one
 * HMAC per 32 output bytes). The labels are encoded once at load, psk_id_hash (a constant in base
 * mode) is computed once, and kem_context is fed to the HMAC in pieces rather than concatenated.
 */

/** KEM id of DHKEM(X25519, HKDF-SHA256). */
export const HPKE_KEM_ID = 0x0020;
/** KDF id of HKDF-SHA256. */
export const HPKE_KDF_ID = 0x0001;
/** AEAD id of ChaCha20-Poly1305. */
export const HPKE_AEAD_ID = 0x0003;
/** Length of the encapsulated key, `enc` (Nenc). */
export const HPKE_ENC_LENGTH = X25519_KEY_LENGTH;
/**
 * The largest sequence number a context uses is one below this. RFC 9180 §5.2 lets a sequence
 * number be shorter than the 96-bit nonce as long as overflow is an error; 2^53 − 1 keeps it an
 * exact JS number, and no context seals 9·10^15 messages.
 */
export const HPKE_MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;
/** Longest secret Export can produce: 255 · Nh. */
export const HPKE_MAX_EXPORT_LENGTH = 255 * 32;

const EMPTY = Buffer.alloc(0);
const ONE = Buffer.from([1]);
const VERSION_LABEL = Buffer.from("HPKE-v1", "latin1");
const KEM_SUITE_ID = Buffer.from([0x4b, 0x45, 0x4d, HPKE_KEM_ID >> 8, HPKE_KEM_ID & 0xff]); // "KEM" || kem_id
const HPKE_SUITE_ID = Buffer.from([
  0x48, 0x50, 0x4b, 0x45, // "HPKE"
  HPKE_KEM_ID >> 8, HPKE_KEM_ID & 0xff,
  HPKE_KDF_ID >> 8, HPKE_KDF_ID & 0xff,
  HPKE_AEAD_ID >> 8, HPKE_AEAD_ID & 0xff,
]);

/** "HPKE-v1" || suite_id || label: what LabeledExtract puts before ikm. */
function extractLabel(suiteId: Buffer, label: string): Buffer {
  return Buffer.concat([VERSION_LABEL, suiteId, Buffer.from(label, "latin1")]);
}

/** I2OSP(L, 2) || "HPKE-v1" || suite_id || label: what LabeledExpand puts before info. */
function expandLabel(suiteId: Buffer, label: string, length: number): Buffer {
  return Buffer.concat([Buffer.from([length >> 8, length & 0xff]), extractLabel(suiteId, label)]);
}

const DKP_PRK = extractLabel(KEM_SUITE_ID, "dkp_prk");
const SK = expandLabel(KEM_SUITE_ID, "sk", 32);
const EAE_PRK = extractLabel(KEM_SUITE_ID, "eae_prk");
const SHARED_SECRET = expandLabel(KEM_SUITE_ID, "shared_secret", 32);
const PSK_ID_HASH = extractLabel(HPKE_SUITE_ID, "psk_id_hash");
const INFO_HASH = extractLabel(HPKE_SUITE_ID, "info_hash");
const SECRET = extractLabel(HPKE_SUITE_ID, "secret");
const KEY = expandLabel(HPKE_SUITE_ID, "key", 32);
const BASE_NONCE = expandLabel(HPKE_SUITE_ID, "base_nonce", 12);
const EXP = expandLabel(HPKE_SUITE_ID, "exp", 32);
const SEC_LABEL = extractLabel(HPKE_SUITE_ID, "sec");
const SEC_32 = expandLabel(HPKE_SUITE_ID, "sec", 32); // the length every request's response export uses

function labeledExtract(salt: Uint8Array, label: Buffer, ikm: Uint8Array): Buffer {
  return hmacSha256(salt, [label, ikm]);
}

/** LabeledExpand for L ≤ 32, the only lengths the key schedule uses: one HMAC. */
function labeledExpand32(prk: Uint8Array, label: Buffer, info: Uint8Array, length: number): Buffer {
  const t = hmacSha256(prk, [label, info, ONE]);
  return length === 32 ? t : t.subarray(0, length);
}

/** Base mode has no PSK, so psk_id_hash = LabeledExtract("", "psk_id_hash", "") is a constant. */
const PSK_ID_HASH_VALUE = labeledExtract(EMPTY, PSK_ID_HASH, EMPTY);

/**
 * DeriveKeyPair(ikm) for DHKEM(X25519) (RFC 9180 §7.1.3). The private key bytes are the expanded
 * bytes as they are, as in the RFC's test vectors; X25519 clamps them when it uses them.
 *
 * @param ikm input keying material, at least 32 bytes of entropy
 * @returns the key pair, with the raw private key bytes as `privateKeyBytes`
 * @example const { publicKey } = deriveKeyPair(randomBytes(32));
 */
export function deriveKeyPair(ikm: Uint8Array): X25519KeyPair & { privateKeyBytes: Buffer } {
  const dkpPrk = labeledExtract(EMPTY, DKP_PRK, ikm);
  const privateKeyBytes = labeledExpand32(dkpPrk, SK, EMPTY, 32);
  const privateKey = X25519PrivateKey.fromBytes(privateKeyBytes);
  return { privateKey, publicKey: privateKey.publicKey(), privateKeyBytes };
}

/** ExtractAndExpand(dh, kem_context) with kem_context = enc || pkRm, fed in pieces. */
function extractAndExpand(dh: Buffer, enc: Uint8Array, recipientPublicKey: Uint8Array): Buffer {
  const eaePrk = labeledExtract(EMPTY, EAE_PRK, dh);
  dh.fill(0);
  return hmacSha256(eaePrk, [SHARED_SECRET, enc, recipientPublicKey, ONE]);
}

/** Every value the base-mode key schedule produces (RFC 9180 §5.1). */
export type HpkeKeySchedule = {
  keyScheduleContext: Buffer;
  secret: Buffer;
  key: Buffer;
  baseNonce: Buffer;
  exporterSecret: Buffer;
};

// info_hash depends only on info, which is the same for every request to one provider: the last
// one is kept (a copy, compared byte for byte), saving an HMAC per setup on both sides.
let lastInfo: Buffer | undefined;
let lastInfoHash: Buffer | undefined;

function infoHash(info: Uint8Array): Buffer {
  if (lastInfo !== undefined && lastInfo.length === info.length && lastInfo.equals(info)) return lastInfoHash!;
  const hash = labeledExtract(EMPTY, INFO_HASH, info);
  lastInfo = Buffer.from(info);
  lastInfoHash = hash;
  return hash;
}

/**
 * KeySchedule(mode_base, shared_secret, info, "", "") (RFC 9180 §5.1).
 *
 * @param sharedSecret the KEM shared secret (32 bytes)
 * @param info the application context both sides bind
 * @returns key, base nonce and exporter secret, with the intermediate values
 */
export function keyScheduleBase(sharedSecret: Uint8Array, info: Uint8Array): HpkeKeySchedule {
  const keyScheduleContext = Buffer.allocUnsafe(65);
  keyScheduleContext[0] = 0x00; // mode_base
  PSK_ID_HASH_VALUE.copy(keyScheduleContext, 1);
  infoHash(info).copy(keyScheduleContext, 33);
  const secret = labeledExtract(sharedSecret, SECRET, EMPTY);
  return {
    keyScheduleContext,
    secret,
    key: labeledExpand32(secret, KEY, keyScheduleContext, 32),
    baseNonce: labeledExpand32(secret, BASE_NONCE, keyScheduleContext, 12),
    exporterSecret: labeledExpand32(secret, EXP, keyScheduleContext, 32),
  };
}

/**
 * Writes base_nonce XOR I2OSP(seq, 12) into `out`. Only the low 53 bits of the nonce can change,
 * so bytes 0–3 stay those of the base nonce and bytes 4–11 are two 32-bit XORs.
 */
function writeNonce(out: Buffer, baseHi: number, baseLo: number, seq: number): void {
  out.writeUInt32BE((baseHi ^ Math.floor(seq / 0x1_0000_0000)) >>> 0, 4);
  out.writeUInt32BE((baseLo ^ seq) >>> 0, 8);
}

/**
 * ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn) (RFC 9180 §5.2).
 *
 * @example computeNonce(baseNonce, 1)
 */
export function computeNonce(baseNonce: Uint8Array, seq: number): Buffer {
  const nonce = Buffer.from(baseNonce);
  writeNonce(nonce, nonce.readUInt32BE(4), nonce.readUInt32BE(8), seq);
  return nonce;
}

function checkSequence(seq: number): number {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw hpkeArgumentInvalidError(`An HPKE sequence number must be an integer from 0 to ${HPKE_MAX_SEQUENCE}, got ${seq}.`);
  }
  return seq;
}

/** Options of {@link setupBaseS} and {@link setupBaseR}. */
export type HpkeContextOptions = {
  /** Sequence number to start from. Default 0. For tests, and for resuming a persisted context. */
  seq?: number;
};

/** The sender's side of an HPKE context: seals messages in order and exports secrets. */
export interface HpkeSenderContext {
  /** The encapsulated key the recipient needs to set up its side (32 bytes). */
  readonly enc: Uint8Array;
  /** Sequence number the next {@link seal} uses. */
  readonly seq: number;
  /**
   * Seals one message with nonce = base_nonce XOR seq. The sequence number is consumed before
   * any work, synchronously, so concurrent callers never share a nonce; at the maximum this
   * throws `hpke_sequence_exhausted` instead of wrapping.
   */
  seal(plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Export(exporter_context, L): a secret both sides derive (RFC 9180 §5.3). */
  export(exporterContext: Uint8Array, length: number): Uint8Array;
}

/** The recipient's side of an HPKE context: opens messages in the order they were sealed. */
export interface HpkeRecipientContext {
  /** Sequence number the next {@link open} expects. */
  readonly seq: number;
  /** Opens one message; any failure throws the uniform `envelope_invalid` error and the sequence number stays. */
  open(ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Export(exporter_context, L): a secret both sides derive (RFC 9180 §5.3). */
  export(exporterContext: Uint8Array, length: number): Uint8Array;
}

/** One HPKE context; the public types show each side only its own half. Internal to src/privacy. */
export class HpkeContext implements HpkeRecipientContext {
  readonly enc: Uint8Array;
  readonly #key: Buffer;
  readonly #exporterSecret: Buffer;
  readonly #nonce: Buffer; // scratch: bytes 0–3 are the base nonce's, 4–11 rewritten per message
  readonly #baseHi: number;
  readonly #baseLo: number;
  #seq: number;

  constructor(schedule: HpkeKeySchedule, enc: Uint8Array, seq: number) {
    this.enc = enc;
    this.#key = schedule.key;
    this.#exporterSecret = schedule.exporterSecret;
    this.#nonce = Buffer.from(schedule.baseNonce);
    this.#baseHi = this.#nonce.readUInt32BE(4);
    this.#baseLo = this.#nonce.readUInt32BE(8);
    this.#seq = checkSequence(seq);
  }

  get seq(): number {
    return this.#seq;
  }

  /** Seals into `out` at `offset` (room for plaintext.length + 16 bytes), so callers can prepend a header without a copy. */
  sealInto(plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, offset: number): void {
    if (this.#seq >= HPKE_MAX_SEQUENCE) throw hpkeSequenceExhaustedError();
    const seq = this.#seq++;
    writeNonce(this.#nonce, this.#baseHi, this.#baseLo, seq);
    aeadSealInto(this.#key, this.#nonce, aad, plaintext, out, offset);
  }

  seal(plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    const out = Buffer.allocUnsafe(plaintext.length + AEAD_TAG_LENGTH);
    this.sealInto(plaintext, aad, out, 0);
    return out;
  }

  open(ciphertext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    if (this.#seq >= HPKE_MAX_SEQUENCE) throw hpkeSequenceExhaustedError();
    writeNonce(this.#nonce, this.#baseHi, this.#baseLo, this.#seq);
    const plaintext = aeadOpen(this.#key, this.#nonce, aad, ciphertext);
    this.#seq++;
    return plaintext;
  }

  export(exporterContext: Uint8Array, length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > HPKE_MAX_EXPORT_LENGTH) {
      throw hpkeArgumentInvalidError(`An HPKE export length must be an integer from 0 to ${HPKE_MAX_EXPORT_LENGTH}, got ${length}.`);
    }
    const label = length === 32 ? SEC_32 : Buffer.concat([Buffer.from([length >> 8, length & 0xff]), SEC_LABEL]);
    if (length <= 32) return labeledExpand32(this.#exporterSecret, label, exporterContext, length);
    // HKDF-Expand: T(i) = HMAC(prk, T(i-1) || info || i), info = label || exporter_context
    const out = Buffer.allocUnsafe(length);
    let previous: Buffer = EMPTY;
    for (let i = 1, written = 0; written < length; i++) {
      previous = hmacSha256(this.#exporterSecret, [previous, label, exporterContext, Uint8Array.of(i)]);
      written += previous.copy(out, written);
    }
    return out;
  }
}

/** Options of {@link setupBaseS}. */
export type HpkeSenderOptions = HpkeContextOptions & {
  /**
   * The ephemeral key pair, instead of a fresh one. Only for reproducing test vectors (with
   * {@link deriveKeyPair}): reusing an ephemeral key across messages breaks HPKE's security.
   */
  ephemeralKeyPair?: X25519KeyPair;
};

/**
 * SetupBaseS(pkR, info): encapsulates to the recipient's public key and returns the sender context.
 * The recipient's key is checked and its key id hashed once, then cached.
 *
 * @param recipientPublicKey the recipient's 32-byte X25519 public key
 * @param info the application context both sides bind
 * @returns the sender context; send `ctx.enc` along with what it seals
 * @throws `hpke_public_key_invalid` for a key of the wrong length or a low-order point
 * @example
 * const ctx = setupBaseS(providerKey, info);
 * const ct = ctx.seal(prompt);
 */
export function setupBaseS(recipientPublicKey: Uint8Array, info: Uint8Array, options: HpkeSenderOptions = {}): HpkeSenderContext {
  return setupSenderTo(getRecipientPublicKey(recipientPublicKey), info, options);
}

/** {@link setupBaseS} to a key already imported, returning the full context type for the envelope code. Internal to src/privacy. */
export function setupSenderTo(recipient: RecipientPublicKey, info: Uint8Array, options: HpkeSenderOptions = {}): HpkeContext {
  const { enc, dh } = encapsulate(recipient.publicKey, options.ephemeralKeyPair);
  const sharedSecret = extractAndExpand(dh, enc, recipient.publicKey);
  return new HpkeContext(keyScheduleBase(sharedSecret, info), enc, options.seq ?? 0);
}

/**
 * Encap(pkR) alone, for checking the KEM against test vectors.
 *
 * @returns the shared secret and the encapsulated key
 */
export function encap(
  recipientPublicKey: Uint8Array,
  ephemeralKeyPair?: X25519KeyPair,
): { sharedSecret: Buffer; enc: Uint8Array } {
  const recipient = getRecipientPublicKey(recipientPublicKey);
  const { enc, dh } = encapsulate(recipient.publicKey, ephemeralKeyPair);
  return { sharedSecret: extractAndExpand(dh, enc, recipient.publicKey), enc };
}

/** The X25519 half of Encap: a fresh ephemeral key (or the given one, for test vectors) and its DH with pkR. */
function encapsulate(recipientPublicKey: Uint8Array, ephemeral: X25519KeyPair | undefined): { enc: Uint8Array; dh: Buffer } {
  if (ephemeral === undefined) {
    const fresh = x25519Ephemeral(recipientPublicKey);
    if (fresh === undefined) throw lowOrderPublicKeyError();
    return fresh;
  }
  const dh = ephemeral.privateKey.dh(recipientPublicKey);
  if (dh === undefined) throw lowOrderPublicKeyError();
  return { enc: ephemeral.publicKey, dh };
}

function lowOrderPublicKeyError() {
  return hpkePublicKeyInvalidError("it is a low-order point, the shared secret would be all zeros");
}

/**
 * Decap(enc, skR). `enc` comes off the wire, so every failure is the uniform `envelope_invalid`.
 *
 * @param recipient the recipient's key pair (see `createHpkeRecipientKey`)
 */
export function decap(enc: Uint8Array, recipient: X25519KeyPair): Buffer {
  if (enc.length !== HPKE_ENC_LENGTH) throw envelopeInvalidError();
  const dh = recipient.privateKey.dh(enc);
  if (dh === undefined) throw envelopeInvalidError();
  return extractAndExpand(dh, enc, recipient.publicKey);
}

/**
 * SetupBaseR(enc, skR, info): decapsulates and returns the recipient context.
 *
 * @param enc the sender's encapsulated key (32 bytes)
 * @param recipient the recipient's key pair (from `createHpkeRecipientKey`, imported once), or its
 *   32 raw private key bytes (imported on each call)
 * @param info the application context both sides bind
 * @throws `envelope_invalid` for a bad `enc`, including a low-order point
 * @example
 * const ctx = setupBaseR(enc, providerKey, info);
 * const prompt = ctx.open(ct);
 */
export function setupBaseR(
  enc: Uint8Array,
  recipient: X25519KeyPair | Uint8Array,
  info: Uint8Array,
  options: HpkeContextOptions = {},
): HpkeRecipientContext {
  return setupRecipient(enc, recipient, info, options);
}

/** {@link setupBaseR}, returning the full context type. Internal to src/privacy. */
export function setupRecipient(
  enc: Uint8Array,
  recipient: X25519KeyPair | Uint8Array,
  info: Uint8Array,
  options: HpkeContextOptions = {},
): HpkeContext {
  const keyPair = recipient instanceof Uint8Array ? keyPairFromBytes(recipient) : checkedKeyPair(recipient);
  return new HpkeContext(keyScheduleBase(decap(enc, keyPair), info), enc, options.seq ?? 0);
}

function keyPairFromBytes(privateKeyBytes: Uint8Array): X25519KeyPair {
  const privateKey = X25519PrivateKey.fromBytes(privateKeyBytes);
  return { privateKey, publicKey: privateKey.publicKey() };
}

function checkedKeyPair(keyPair: X25519KeyPair): X25519KeyPair {
  assertX25519PrivateKey(keyPair.privateKey);
  assertX25519PublicKey(keyPair.publicKey);
  return keyPair;
}
