import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { gotongErrorOf } from "../../test/helpers/gotongErrorOf.ts";
import type { GotongError } from "../common/errors.ts";
import { createHpkeKeyRing } from "./createHpkeKeyRing.ts";
import { createHpkeRecipientKey } from "./createHpkeRecipientKey.ts";
import { createRequestInfo } from "./createRequestInfo.ts";
import { hpkeKeyId } from "./hpkeKeyId.ts";
import { openRequest } from "./openRequest.ts";
import { REQUEST_ENVELOPE_HEADER_LENGTH, REQUEST_ENVELOPE_VERSION } from "./requestEnvelope.ts";
import { sealRequest } from "./sealRequest.ts";

/** Checks that `error` is the one uniform envelope_invalid error, identical in every visible field. */
function expectUniform(error: GotongError) {
  const reference = gotongErrorOf(() => openRequest(createHpkeRecipientKey(randomBytes(32)), new Uint8Array(0), new Uint8Array(0)));
  expect(error.code).toBe("envelope_invalid");
  expect(error.status).toBe(400);
  expect(error.message).toBe(reference.message);
  expect(error.hint).toBe(reference.hint);
  expect(error.cause).toBeUndefined();
  expect(error.retryable).toBe(false);
}

const provider = "0x1111111111111111111111111111111111111111";
const info = createRequestInfo({ chainId: 31337n, provider });
const recipient = createHpkeRecipientKey(randomBytes(32));
const prompt = Buffer.from(JSON.stringify({ model: "m", messages: [{ role: "user", content: "Hello, private world" }] }));

describe("sealRequest / openRequest", () => {
  it("round-trips a request, with a versioned header naming the key", () => {
    const { envelope, responseKeys } = sealRequest(recipient.publicKey, prompt, info);
    expect(envelope[0]).toBe(REQUEST_ENVELOPE_VERSION);
    expect(Buffer.from(envelope.subarray(1, 9))).toEqual(Buffer.from(hpkeKeyId(recipient.publicKey)));
    expect(envelope.length).toBe(REQUEST_ENVELOPE_HEADER_LENGTH + prompt.length + 16);
    const opened = openRequest(recipient, envelope, info);
    expect(Buffer.from(opened.plaintext)).toEqual(prompt);
    expect(Buffer.from(opened.keyId)).toEqual(Buffer.from(recipient.keyId));
    // Both ends hold the same response secret, and it differs per request.
    expect(Buffer.from(opened.responseKeys.secret)).toEqual(Buffer.from(responseKeys.secret));
    const again = sealRequest(recipient.publicKey, prompt, info);
    expect(Buffer.from(again.responseKeys.secret)).not.toEqual(Buffer.from(responseKeys.secret));
    expect(Buffer.from(again.envelope)).not.toEqual(Buffer.from(envelope));
  });

  it("round-trips an empty body and a 1 MiB body", () => {
    for (const body of [Buffer.alloc(0), randomBytes(1024 * 1024)]) {
      const opened = openRequest(recipient, sealRequest(recipient.publicKey, body, info).envelope, info).plaintext;
      expect(body.equals(opened)).toBe(true); // (toEqual on 1 MiB is slow)
    }
  });

  it("binds the optional extra AAD", () => {
    const aad = Buffer.from("voucher-hash");
    const { envelope } = sealRequest(recipient.publicKey, prompt, info, { aad });
    expect(Buffer.from(openRequest(recipient, envelope, info, { aad }).plaintext)).toEqual(prompt);
    expectUniform(gotongErrorOf(() => openRequest(recipient, envelope, info)));
    expectUniform(gotongErrorOf(() => openRequest(recipient, envelope, info, { aad: Buffer.from("voucher-hasH") })));
    expectUniform(gotongErrorOf(() => openRequest(recipient, sealRequest(recipient.publicKey, prompt, info).envelope, info, { aad })));
  });

  it("a flipped bit anywhere (version, key id, enc, ciphertext, tag) → the uniform envelope_invalid, no plaintext", () => {
    const { envelope } = sealRequest(recipient.publicKey, prompt, info);
    for (let byte = 0; byte < envelope.length; byte++) {
      for (const bit of [0, 7, byte % 8]) {
        const tampered = Buffer.from(envelope);
        tampered[byte]! ^= 1 << bit;
        let result: unknown;
        const error = gotongErrorOf(() => {
          result = openRequest(recipient, tampered, info);
        });
        expect(result).toBeUndefined();
        expectUniform(error);
      }
    }
  });

  it("a flipped bit in info, a truncated or extended envelope, or the wrong key → envelope_invalid", () => {
    const { envelope } = sealRequest(recipient.publicKey, prompt, info);
    const otherInfo = Buffer.from(info);
    otherInfo[otherInfo.length - 1]! ^= 1;
    expectUniform(gotongErrorOf(() => openRequest(recipient, envelope, otherInfo)));
    expectUniform(gotongErrorOf(() => openRequest(recipient, envelope, createRequestInfo({ chainId: 1n, provider }))));
    for (const length of [0, 1, 9, 41, 56, envelope.length - 1]) expectUniform(gotongErrorOf(() => openRequest(recipient, envelope.subarray(0, length), info)));
    expectUniform(gotongErrorOf(() => openRequest(recipient, Buffer.concat([envelope, Buffer.from([0])]), info)));
    expectUniform(gotongErrorOf(() => openRequest(createHpkeRecipientKey(randomBytes(32)), envelope, info)));
    // the right key id but another key's enc (a spliced header) fails too
    const other = sealRequest(recipient.publicKey, prompt, info).envelope;
    const spliced = Buffer.concat([envelope.subarray(0, 9), other.subarray(9, 41), envelope.subarray(41)]);
    expectUniform(gotongErrorOf(() => openRequest(recipient, spliced, info)));
  });

  it("an enc replaced by a low-order point → envelope_invalid", () => {
    const { envelope } = sealRequest(recipient.publicKey, prompt, info);
    for (const point of [Buffer.alloc(32), Buffer.from("01".padEnd(64, "0"), "hex")]) {
      const tampered = Buffer.from(envelope);
      point.copy(tampered, 9);
      expectUniform(gotongErrorOf(() => openRequest(recipient, tampered, info)));
    }
  });

  it("the request info binds chain and provider, whatever the address's letter case", () => {
    expect(Buffer.from(createRequestInfo({ chainId: 1, provider: "0xABCDEF" }))).toEqual(
      Buffer.from(createRequestInfo({ chainId: 1n, provider: "0xabcdef" })),
    );
    expect(Buffer.from(createRequestInfo({ chainId: 1, provider: "0xab" }))).not.toEqual(Buffer.from(createRequestInfo({ chainId: 2, provider: "0xab" })));
    expect(Buffer.from(createRequestInfo({ chainId: 12, provider: "0x3" }))).not.toEqual(Buffer.from(createRequestInfo({ chainId: 1, provider: "0x23" })));
  });
});

describe("key rotation: HPKE key ring", () => {
  const oldKey = createHpkeRecipientKey(randomBytes(32));
  const newKey = createHpkeRecipientKey(randomBytes(32));

  it("opens envelopes sealed to the current key and to a previous key within its grace period", () => {
    let now = 1_000_000;
    const ring = createHpkeKeyRing(newKey, [{ key: oldKey, retiredAt: now }], { graceMs: 60_000, now: () => now });
    const toOld = sealRequest(oldKey.publicKey, prompt, info).envelope;
    const toNew = sealRequest(newKey.publicKey, prompt, info).envelope;
    expect(Buffer.from(openRequest(ring, toNew, info).plaintext)).toEqual(prompt);
    expect(Buffer.from(openRequest(ring, toOld, info).plaintext)).toEqual(prompt);
    expect(Buffer.from(openRequest(ring, toOld, info).keyId)).toEqual(Buffer.from(oldKey.keyId));
    now += 60_000;
    expectUniform(gotongErrorOf(() => openRequest(ring, toOld, info)));
    expect(Buffer.from(openRequest(ring, toNew, info).plaintext)).toEqual(prompt);
  });

  it("refuses an envelope for a key the ring does not hold", () => {
    const ring = createHpkeKeyRing(newKey, [{ key: oldKey, retiredAt: Date.now() }]);
    const stranger = createHpkeRecipientKey(randomBytes(32));
    expectUniform(gotongErrorOf(() => openRequest(ring, sealRequest(stranger.publicKey, prompt, info).envelope, info)));
  });
});
