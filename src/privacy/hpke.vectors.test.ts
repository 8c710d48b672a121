import { describe, expect, it } from "vitest";
import {
  computeNonce,
  decap,
  deriveKeyPair,
  encap,
  HPKE_AEAD_ID,
  HPKE_KDF_ID,
  HPKE_KEM_ID,
  keyScheduleBase,
  setupBaseR,
  setupBaseS,
} from "./hpke.ts";
import { readHpkeVectors, type HpkeVectorFields as Fields } from "../../test/helpers/readHpkeVectors.ts";

const vectors = readHpkeVectors();

const hex = (f: Fields, name: string): Buffer => {
  const value = f.get(name);
  if (value === undefined) throw new Error(`vector field ${name} missing`);
  return Buffer.from(value, "hex");
};
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe.skipIf(!vectors)("HPKE RFC 9180 Appendix A: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base", () => {
  const v = vectors ?? { setup: new Map(), encryptions: [], exports: [] };
  const s = v.setup;

  it("is the suite and mode implemented here, with every section parsed", () => {
    expect(s.get("mode")).toBe("0");
    expect(Number(s.get("kem_id"))).toBe(HPKE_KEM_ID);
    expect(Number(s.get("kdf_id"))).toBe(HPKE_KDF_ID);
    expect(Number(s.get("aead_id"))).toBe(HPKE_AEAD_ID);
    expect(v.encryptions.length).toBeGreaterThanOrEqual(6);
    expect(v.exports.length).toBeGreaterThanOrEqual(3);
  });

  it("DeriveKeyPair(ikmE) and DeriveKeyPair(ikmR) give skEm/pkEm and skRm/pkRm", () => {
    const e = deriveKeyPair(hex(s, "ikmE"));
    const r = deriveKeyPair(hex(s, "ikmR"));
    expect(toHex(e.privateKeyBytes)).toBe(s.get("skEm"));
    expect(toHex(e.publicKey)).toBe(s.get("pkEm"));
    expect(toHex(r.privateKeyBytes)).toBe(s.get("skRm"));
    expect(toHex(r.publicKey)).toBe(s.get("pkRm"));
  });

  it("Encap and Decap give enc and shared_secret", () => {
    const e = deriveKeyPair(hex(s, "ikmE"));
    const r = deriveKeyPair(hex(s, "ikmR"));
    const { sharedSecret, enc } = encap(hex(s, "pkRm"), e);
    expect(toHex(enc)).toBe(s.get("enc"));
    expect(toHex(sharedSecret)).toBe(s.get("shared_secret"));
    expect(toHex(decap(hex(s, "enc"), r))).toBe(s.get("shared_secret"));
  });

  it("the key schedule gives key_schedule_context, secret, key, base_nonce and exporter_secret", () => {
    const k = keyScheduleBase(hex(s, "shared_secret"), hex(s, "info"));
    expect(toHex(k.keyScheduleContext)).toBe(s.get("key_schedule_context"));
    expect(toHex(k.secret)).toBe(s.get("secret"));
    expect(toHex(k.key)).toBe(s.get("key"));
    expect(toHex(k.baseNonce)).toBe(s.get("base_nonce"));
    expect(toHex(k.exporterSecret)).toBe(s.get("exporter_secret"));
  });

  it("seals and opens every encryption at its sequence number (pt, aad, nonce, ct)", () => {
    const baseNonce = hex(s, "base_nonce");
    const ephemeral = deriveKeyPair(hex(s, "ikmE"));
    const recipient = deriveKeyPair(hex(s, "ikmR"));
    const info = hex(s, "info");
    for (const enc of v.encryptions) {
      const seq = Number(enc.get("sequence number"));
      expect(toHex(computeNonce(baseNonce, seq))).toBe(enc.get("nonce"));
      const sender = setupBaseS(hex(s, "pkRm"), info, { ephemeralKeyPair: ephemeral, seq });
      expect(toHex(sender.enc)).toBe(s.get("enc"));
      expect(toHex(sender.seal(hex(enc, "pt"), hex(enc, "aad")))).toBe(enc.get("ct"));
      expect(sender.seq).toBe(seq + 1);
      const receiver = setupBaseR(hex(s, "enc"), recipient, info, { seq });
      expect(toHex(receiver.open(hex(enc, "ct"), hex(enc, "aad")))).toBe(enc.get("pt"));
      expect(receiver.seq).toBe(seq + 1);
    }
  });

  it("walking one context from sequence 0 reaches each listed encryption in turn", () => {
    const sender = setupBaseS(hex(s, "pkRm"), hex(s, "info"), { ephemeralKeyPair: deriveKeyPair(hex(s, "ikmE")) });
    const receiver = setupBaseR(hex(s, "enc"), hex(s, "skRm"), hex(s, "info"));
    const bySeq = new Map(v.encryptions.map((e) => [Number(e.get("sequence number")), e]));
    const last = Math.max(...bySeq.keys());
    for (let seq = 0; seq <= last; seq++) {
      const listed = bySeq.get(seq);
      const pt = listed ? hex(listed, "pt") : Buffer.from(`filler ${seq}`);
      const aad = listed ? hex(listed, "aad") : Buffer.alloc(0);
      const ct = sender.seal(pt, aad);
      if (listed) expect(toHex(ct)).toBe(listed.get("ct"));
      expect(toHex(receiver.open(ct, aad))).toBe(toHex(pt));
    }
  });

  it("exports every exported value, from both sides", () => {
    const sender = setupBaseS(hex(s, "pkRm"), hex(s, "info"), { ephemeralKeyPair: deriveKeyPair(hex(s, "ikmE")) });
    const receiver = setupBaseR(hex(s, "enc"), deriveKeyPair(hex(s, "ikmR")), hex(s, "info"));
    for (const e of v.exports) {
      const context = hex(e, "exporter_context");
      const length = Number(e.get("L"));
      expect(toHex(sender.export(context, length))).toBe(e.get("exported_value"));
      expect(toHex(receiver.export(context, length))).toBe(e.get("exported_value"));
    }
  });
});
