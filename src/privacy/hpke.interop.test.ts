import { randomBytes } from "node:crypto";
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { describe, expect, it } from "vitest";
import { createHpkeRecipientKey } from "./createHpkeRecipientKey.ts";
import { deriveKeyPair, setupBaseR, setupBaseS } from "./hpke.ts";
import { openRequest } from "./openRequest.ts";
import { parseRequestEnvelope, requestEnvelopeAad } from "./requestEnvelope.ts";
import { sealRequest } from "./sealRequest.ts";

// @hpke/core is a devDependency: a second, independent implementation to check ours against.
const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
const info = Buffer.from("gotong/v1 interop");

async function theirKeyPair(ikm: Uint8Array) {
  const pair = await suite.kem.deriveKeyPair(ikm);
  const publicKey = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
  return { pair, publicKey };
}

describe("HPKE interoperability with @hpke/core", () => {
  it("derives the same key pair from the same ikm", async () => {
    const ikm = randomBytes(32);
    expect(Buffer.from(deriveKeyPair(ikm).publicKey)).toEqual(Buffer.from((await theirKeyPair(ikm)).publicKey));
  });

  it("our seal → their open, for several messages, with the same exported secrets", async () => {
    const { pair, publicKey } = await theirKeyPair(randomBytes(32));
    const sender = setupBaseS(publicKey, info);
    const receiver = await suite.createRecipientContext({ recipientKey: pair, enc: sender.enc, info });
    for (let i = 0; i < 5; i++) {
      const pt = randomBytes(i * 300);
      const aad = randomBytes(i);
      const opened = await receiver.open(sender.seal(pt, aad), aad);
      expect(Buffer.from(opened)).toEqual(pt);
    }
    const context = Buffer.from("gotong/v1 response");
    expect(Buffer.from(await receiver.export(context, 32))).toEqual(Buffer.from(sender.export(context, 32)));
  });

  it("their seal → our open, for several messages, with the same exported secrets", async () => {
    const ikm = randomBytes(32);
    const { publicKey } = await theirKeyPair(ikm);
    const ours = deriveKeyPair(ikm);
    const sender = await suite.createSenderContext({ recipientPublicKey: await suite.kem.deserializePublicKey(publicKey), info });
    const receiver = setupBaseR(new Uint8Array(sender.enc), ours, info);
    for (let i = 0; i < 5; i++) {
      const pt = randomBytes(i * 300);
      const aad = randomBytes(i);
      const ct = new Uint8Array(await sender.seal(pt, aad));
      expect(Buffer.from(receiver.open(ct, aad))).toEqual(pt);
    }
    const context = Buffer.from("exported");
    expect(Buffer.from(receiver.export(context, 44))).toEqual(Buffer.from(await sender.export(context, 44)));
  });

  it("a request envelope opens with @hpke/core given its enc, ciphertext and header AAD", async () => {
    const ikm = randomBytes(32);
    const { pair, publicKey } = await theirKeyPair(ikm);
    const body = randomBytes(1000);
    const { envelope } = sealRequest(publicKey, body, info);
    const { header, enc, ciphertext } = parseRequestEnvelope(envelope);
    const receiver = await suite.createRecipientContext({ recipientKey: pair, enc: new Uint8Array(enc), info });
    expect(Buffer.from(await receiver.open(new Uint8Array(ciphertext), requestEnvelopeAad(header, undefined)))).toEqual(body);
    // and the provider side of ours opens it too
    const recipient = createHpkeRecipientKey(deriveKeyPair(ikm).privateKeyBytes);
    expect(Buffer.from(openRequest(recipient, envelope, info).plaintext)).toEqual(body);
  });
});
