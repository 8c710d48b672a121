import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isGotongError } from "../../src/common/errors.ts";
import {
  createHpkeRecipientKey,
  createRequestInfo as nodeRequestInfo,
  createStreamOpener as nodeStreamOpener,
  createStreamSealer,
  deriveKeyPair,
  encodeSseFrame,
  hpkeKeyId,
  openRequest,
  sealRequest as nodeSealRequest,
  setupBaseS as nodeSetupBaseS,
} from "../../src/privacy/index.ts";
import { readHpkeVectors } from "../helpers/readHpkeVectors.ts";
import {
  createRequestInfo,
  createStreamOpener,
  decodeSseFrame,
  fromBase64url,
  sealRequest,
  setupBaseS,
  toBase64url,
} from "../../src/web/crypto/index.ts";

// The browser's HPKE (noble) against RFC 9180's vectors and against src/privacy (libsodium):
// what the page seals, the provider opens; what the provider seals, the page opens.

const vectors = readHpkeVectors();

const hex = (s: string | undefined) => Buffer.from(s ?? "", "hex");
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe.skipIf(!vectors)("browser HPKE against RFC 9180 Appendix A (X25519, HKDF-SHA256, ChaCha20Poly1305, base)", () => {
  const v = vectors ?? { setup: new Map(), encryptions: [], exports: [] };
  const s = v.setup;

  it("SetupBaseS with skEm gives enc, seals encryption 0 to its ct, and exports every listed value", () => {
    const first = v.encryptions.find((e) => e.get("sequence number") === "0")!;
    const ctx = setupBaseS(hex(s.get("pkRm")), hex(s.get("info")), { ephemeralPrivateKey: hex(s.get("skEm")) });
    expect(toHex(ctx.enc)).toBe(s.get("enc"));
    expect(toHex(ctx.seal(hex(first.get("pt")), hex(first.get("aad"))))).toBe(first.get("ct"));
    expect(toHex(ctx.seal(hex(v.encryptions[1]!.get("pt")), hex(v.encryptions[1]!.get("aad"))))).toBe(v.encryptions[1]!.get("ct"));
    expect(v.exports.length).toBeGreaterThanOrEqual(3);
    for (const e of v.exports) {
      expect(toHex(ctx.export(hex(e.get("exporter_context")), Number(e.get("L"))))).toBe(e.get("exported_value"));
    }
  });
});

describe("browser sealing interoperates with src/privacy", () => {
  const recipient = createHpkeRecipientKey(randomBytes(32));
  const provider = "0x" + "Ab".repeat(20);
  const info = createRequestInfo({ chainId: 31337, provider });

  it("builds the info bytes the provider expects, whatever the chain id's type or the address's case", () => {
    // One module serves both sides now; this pins its bytes, which every sealed request binds.
    expect(new TextDecoder().decode(info)).toBe(`gotong/v1 request\u000031337\u0000${"0x" + "ab".repeat(20)}`);
    expect(toHex(info)).toBe(toHex(nodeRequestInfo({ chainId: 31337n, provider: provider.toUpperCase().replace("0X", "0x") })));
  });

  it("seals an envelope byte-identical to node's for the same ephemeral key", () => {
    const ephemeral = deriveKeyPair(randomBytes(32));
    const body = Buffer.from(JSON.stringify({ model: "m", messages: [{ role: "user", content: "hello 👋" }], stream: true }));
    const requestId = randomBytes(32);
    const browser = sealRequest(recipient.publicKey, body, info, { aad: requestId, ephemeralPrivateKey: ephemeral.privateKeyBytes });
    const ctx = nodeSetupBaseS(recipient.publicKey, info, { ephemeralKeyPair: ephemeral });
    const header = Buffer.concat([Buffer.from([1]), hpkeKeyId(recipient.publicKey), ctx.enc]);
    const expected = Buffer.concat([header, ctx.seal(body, Buffer.concat([header, requestId]))]);
    expect(toHex(browser.envelope)).toBe(toHex(expected));
  });

  it("browser seal → node open, with the same response secret; wrong AAD or info → envelope_invalid", () => {
    const body = randomBytes(5000);
    const aad = randomBytes(32);
    const { envelope, responseKeys } = sealRequest(recipient.publicKey, body, info, { aad });
    const opened = openRequest(recipient, envelope, nodeRequestInfo({ chainId: 31337, provider }), { aad });
    expect(Buffer.from(opened.plaintext).equals(body)).toBe(true);
    expect(toHex(opened.responseKeys.secret)).toBe(toHex(responseKeys.secret));
    expect(() => openRequest(recipient, envelope, info, { aad: randomBytes(32) })).toThrow(/could not be opened/);
    expect(() => openRequest(recipient, envelope, nodeRequestInfo({ chainId: 1, provider }), { aad })).toThrow(/could not be opened/);
  });

  it("node stream seal → browser open, chunk by chunk, through SSE framing", () => {
    const { envelope, responseKeys } = sealRequest(recipient.publicKey, Buffer.from("{}"), info);
    const { responseKeys: providerKeys } = openRequest(recipient, envelope, info);
    const sealer = createStreamSealer(providerKeys);
    const chunks = ["data: {\"a\":1}\n\n", "", "data: {\"b\":\"ünïcode\"}\n\n", "data: [DONE]\n\n"];
    const frames = chunks.map((c, i) => encodeSseFrame(sealer.seal(Buffer.from(c), { final: i === chunks.length - 1 })));
    const opener = createStreamOpener(responseKeys);
    const out = frames.map((f) => opener.open(decodeSseFrame(f.slice("data:".length))));
    expect(out.map((o) => Buffer.from(o.plaintext).toString())).toEqual(chunks);
    expect(out.map((o) => o.final)).toEqual([false, false, false, true]);
    opener.end();
    expect(() => opener.open(decodeSseFrame(frames[0]!.slice(5)))).toThrow(/after the final chunk/);
  });

  it("refuses a flipped bit, a reordered, dropped or truncated stream, like node's opener", () => {
    const { envelope, responseKeys } = sealRequest(recipient.publicKey, Buffer.from("{}"), info);
    const { responseKeys: providerKeys } = openRequest(recipient, envelope, info);
    const sealer = createStreamSealer(providerKeys);
    const frames = [0, 1, 2].map((i) => sealer.seal(Buffer.from(`chunk ${i}`), { final: i === 2 }));
    for (let bit = 0; bit < frames[0]!.length * 8; bit += 7) {
      const tampered = Uint8Array.from(frames[0]!);
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      const browser = createStreamOpener(responseKeys);
      const node = nodeStreamOpener(responseKeys);
      let browserCode = "";
      let nodeCode = "";
      try {
        browser.open(tampered);
      } catch (e) {
        browserCode = isGotongError(e) ? e.code : "other";
      }
      try {
        node.open(tampered);
      } catch (e) {
        nodeCode = isGotongError(e) ? e.code : "other";
      }
      expect(browserCode).not.toBe("");
      expect(browserCode).toBe(nodeCode);
    }
    const skip = createStreamOpener(responseKeys);
    skip.open(frames[0]!);
    expect(() => skip.open(frames[2]!)).toThrow(/chunk 2 arrived where chunk 1/);
    const cut = createStreamOpener(responseKeys);
    cut.open(frames[0]!);
    cut.open(frames[1]!);
    expect(() => cut.end()).toThrow(/without its final chunk/);
  });

  it("opens what node's sealRequest sealed for the provider: the response secret matches across both senders", () => {
    const node = nodeSealRequest(recipient.publicKey, Buffer.from("x"), info);
    const sealer = createStreamSealer(openRequest(recipient, node.envelope, info).responseKeys);
    const opener = createStreamOpener(node.responseKeys);
    expect(Buffer.from(opener.open(sealer.seal(Buffer.from("hi"), { final: true })).plaintext).toString()).toBe("hi");
  });

  it("refuses a low-order or short provider key", () => {
    expect(() => sealRequest(new Uint8Array(32), new Uint8Array(1), info)).toThrow(/low-order/);
    expect(() => sealRequest(new Uint8Array(31), new Uint8Array(1), info)).toThrow(/expected 32 bytes/);
  });

  it("base64url matches Buffer's for any bytes, and refuses what decodeSseFrame must refuse", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toBase64url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64url"));
        expect(Buffer.from(fromBase64url(text)!).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
    for (const bad of ["a", "ab=c", "a+bc", "a/bc", "ab cd", "é"]) expect(fromBase64url(bad)).toBeUndefined();
    expect(() => decodeSseFrame("not*base64")).toThrow(/could not be opened/);
  });
});
