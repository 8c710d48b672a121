import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { gotongErrorOf } from "../../test/helpers/gotongErrorOf.ts";
import { createHpkeRecipientKey } from "./createHpkeRecipientKey.ts";
import { computeNonce, decap, HPKE_MAX_EXPORT_LENGTH, HPKE_MAX_SEQUENCE, setupBaseR, setupBaseS } from "./hpke.ts";
import { sealRequest } from "./sealRequest.ts";

const info = Buffer.from("gotong/v1 test");

// Every encoding of an X25519 point of small order: the seven of RFC 7748 §7 (0, 1, the two points
// of order 8, p − 1, p, p + 1), each also with the top bit set, which X25519 masks off.
const LOW_ORDER_POINTS = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].flatMap((h) => {
  const point = Buffer.from(h, "hex");
  const topBitSet = Buffer.from(point);
  topBitSet[31]! |= 0x80;
  return [point, topBitSet];
});

describe("HPKE key checks", () => {
  const recipient = createHpkeRecipientKey(randomBytes(32));

  it("refuses a public key of the wrong length with hpke_public_key_invalid", () => {
    for (const length of [0, 1, 31, 33, 65]) {
      const error = gotongErrorOf(() => setupBaseS(randomBytes(length), info));
      expect(error.code).toBe("hpke_public_key_invalid");
      expect(error.message).toContain(`got ${length}`);
      expect(gotongErrorOf(() => sealRequest(randomBytes(length), Buffer.from("hi"), info)).code).toBe("hpke_public_key_invalid");
    }
  });

  it("refuses every low-order public key on the sender side (the DH output would be all zeros)", () => {
    for (const point of LOW_ORDER_POINTS) {
      const error = gotongErrorOf(() => sealRequest(point, Buffer.from("hi"), info));
      expect(error.code, point.toString("hex")).toBe("hpke_public_key_invalid");
      expect(error.message).toContain("low-order");
    }
  });

  it("refuses a low-order enc on the recipient side with the uniform envelope_invalid", () => {
    for (const point of LOW_ORDER_POINTS) {
      expect(gotongErrorOf(() => decap(point, recipient)).code).toBe("envelope_invalid");
      expect(gotongErrorOf(() => setupBaseR(point, recipient, info)).code).toBe("envelope_invalid");
    }
  });

  it("refuses an enc of the wrong length with envelope_invalid", () => {
    for (const length of [0, 31, 33]) expect(gotongErrorOf(() => setupBaseR(randomBytes(length), recipient, info)).code).toBe("envelope_invalid");
  });

  it("refuses a private key of the wrong length or type with hpke_private_key_invalid", () => {
    for (const length of [0, 16, 31, 33, 64]) {
      const error = gotongErrorOf(() => createHpkeRecipientKey(randomBytes(length)));
      expect(error.code).toBe("hpke_private_key_invalid");
      expect(error.message).toContain(`got ${length}`);
      expect(gotongErrorOf(() => setupBaseR(randomBytes(32), randomBytes(length), info)).code).toBe("hpke_private_key_invalid");
    }
    const publicKeyObject = generateKeyPairSync("x25519").publicKey;
    expect(gotongErrorOf(() => createHpkeRecipientKey(publicKeyObject)).code).toBe("hpke_private_key_invalid");
  });
});

describe("HPKE private keys", () => {
  it("never show their bytes in JSON, inspect or string form (so a log line cannot leak one)", () => {
    const bytes = randomBytes(32);
    const key = createHpkeRecipientKey(bytes);
    const hex = bytes.toString("hex");
    const b64 = bytes.toString("base64");
    for (const shown of [JSON.stringify(key), inspect(key, { depth: 5, showHidden: true }), String(key.privateKey), `${inspect(key.privateKey)}`]) {
      expect(shown).not.toContain(hex);
      expect(shown).not.toContain(b64);
      expect(shown).not.toMatch(/\b(\d{1,3}, ){31}\d{1,3}\b/); // no byte list either
    }
  });

  it("load from a PEM KeyObject to the same key as from its raw bytes", () => {
    const pem = generateKeyPairSync("x25519", { privateKeyEncoding: { format: "pem", type: "pkcs8" }, publicKeyEncoding: { format: "pem", type: "spki" } });
    const fromPem = createHpkeRecipientKey(createPrivateKey(pem.privateKey));
    const raw = Buffer.from(createPrivateKey(pem.privateKey).export({ format: "jwk" }).d!, "base64url");
    const expected = createPublicKey(pem.publicKey).export({ format: "jwk" }).x;
    expect(Buffer.from(fromPem.publicKey).toString("base64url")).toBe(expected);
    expect(Buffer.from(createHpkeRecipientKey(raw).publicKey)).toEqual(Buffer.from(fromPem.publicKey));
  });
});

describe("HPKE sequence numbers", () => {
  const recipient = createHpkeRecipientKey(randomBytes(32));

  it("computes base_nonce XOR seq over the whole 53-bit range (checked against BigInt)", () => {
    const base = randomBytes(12);
    const seqs = [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, HPKE_MAX_SEQUENCE - 1, HPKE_MAX_SEQUENCE];
    for (let i = 0; i < 200; i++) seqs.push(Math.floor(Math.random() * HPKE_MAX_SEQUENCE));
    for (const seq of seqs) {
      const expected = (BigInt(`0x${base.toString("hex")}`) ^ BigInt(seq)).toString(16).padStart(24, "0");
      expect(computeNonce(base, seq).toString("hex"), String(seq)).toBe(expected);
    }
  });

  it("seals the last sequence number, then refuses with hpke_sequence_exhausted instead of wrapping", () => {
    const sender = setupBaseS(recipient.publicKey, info, { seq: HPKE_MAX_SEQUENCE - 1 });
    const last = sender.seal(Buffer.from("last"));
    expect(sender.seq).toBe(HPKE_MAX_SEQUENCE);
    const error = gotongErrorOf(() => sender.seal(Buffer.from("one too many")));
    expect(error.code).toBe("hpke_sequence_exhausted");
    expect(error.status).toBe(500);
    expect(gotongErrorOf(() => sender.seal(Buffer.from("again"))).code).toBe("hpke_sequence_exhausted");
    expect(sender.seq).toBe(HPKE_MAX_SEQUENCE);

    const receiver = setupBaseR(sender.enc, recipient, info, { seq: HPKE_MAX_SEQUENCE - 1 });
    expect(Buffer.from(receiver.open(last)).toString()).toBe("last");
    expect(gotongErrorOf(() => receiver.open(last)).code).toBe("hpke_sequence_exhausted");
  });

  it("a message sealed at a high sequence number opens only at that number", () => {
    const seq = 2 ** 40 + 7;
    const sender = setupBaseS(recipient.publicKey, info, { seq });
    const ct = sender.seal(Buffer.from("high"));
    expect(Buffer.from(setupBaseR(sender.enc, recipient, info, { seq }).open(ct)).toString()).toBe("high");
    expect(gotongErrorOf(() => setupBaseR(sender.enc, recipient, info, { seq: seq + 1 }).open(ct)).code).toBe("envelope_invalid");
    expect(gotongErrorOf(() => setupBaseR(sender.enc, recipient, info, { seq: seq + 2 ** 32 }).open(ct)).code).toBe("envelope_invalid");
  });

  it("refuses a starting sequence number that is negative, fractional or past the maximum", () => {
    for (const seq of [-1, 0.5, HPKE_MAX_SEQUENCE + 1, Number.NaN]) {
      expect(gotongErrorOf(() => setupBaseS(recipient.publicKey, info, { seq })).code).toBe("hpke_argument_invalid");
    }
  });

  it("a failed open leaves the sequence number where it was", () => {
    const sender = setupBaseS(recipient.publicKey, info);
    const receiver = setupBaseR(sender.enc, recipient, info);
    const ct = sender.seal(Buffer.from("hello"));
    const bad = Buffer.from(ct);
    bad[0]! ^= 1;
    expect(gotongErrorOf(() => receiver.open(bad)).code).toBe("envelope_invalid");
    expect(receiver.seq).toBe(0);
    expect(Buffer.from(receiver.open(ct)).toString()).toBe("hello");
  });

  it("many seals racing on one context each take their own sequence number: no nonce repeats", async () => {
    const sender = setupBaseS(recipient.publicKey, info);
    const n = 2000;
    const sealed = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        // interleave the callers across macrotask and microtask turns
        if (i % 3 === 0) await new Promise((r) => setImmediate(r));
        else await Promise.resolve();
        const seq = sender.seq;
        return { seq, ct: sender.seal(Buffer.from(`message ${i}`)), i };
      }),
    );
    const seqs = sealed.map((s) => s.seq).sort((a, b) => a - b);
    expect(new Set(seqs).size).toBe(n);
    expect(seqs[0]).toBe(0);
    expect(seqs[n - 1]).toBe(n - 1);
    // Each ciphertext opens in sequence order, so each used the nonce of its own number.
    const receiver = setupBaseR(sender.enc, recipient, info);
    for (const s of [...sealed].sort((a, b) => a.seq - b.seq)) {
      expect(Buffer.from(receiver.open(s.ct)).toString()).toBe(`message ${s.i}`);
    }
  });
});

describe("HPKE export", () => {
  it("derives the same secret on both sides for any length up to 255·32, and refuses beyond", () => {
    const recipient = createHpkeRecipientKey(randomBytes(32));
    const sender = setupBaseS(recipient.publicKey, info);
    const receiver = setupBaseR(sender.enc, recipient, info);
    for (const length of [0, 1, 12, 32, 33, 44, 64, 100, HPKE_MAX_EXPORT_LENGTH]) {
      const a = sender.export(Buffer.from("ctx"), length);
      expect(a.length).toBe(length);
      expect(Buffer.from(receiver.export(Buffer.from("ctx"), length))).toEqual(Buffer.from(a));
    }
    // a shorter export is a prefix of a longer one (HKDF-Expand), and the context matters
    expect(Buffer.from(sender.export(Buffer.from("other"), 32))).not.toEqual(Buffer.from(sender.export(Buffer.from("ctx"), 32)));
    for (const length of [-1, 1.5, HPKE_MAX_EXPORT_LENGTH + 1]) {
      expect(gotongErrorOf(() => sender.export(Buffer.from("ctx"), length)).code).toBe("hpke_argument_invalid");
    }
  });
});
