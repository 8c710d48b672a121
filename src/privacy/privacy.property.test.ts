import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import { createHpkeRecipientKey } from "./createHpkeRecipientKey.ts";
import { createStreamOpener } from "./createStreamOpener.ts";
import { createStreamSealer } from "./createStreamSealer.ts";
import { setupBaseR, setupBaseS } from "./hpke.ts";
import { openRequest } from "./openRequest.ts";
import { sealRequest } from "./sealRequest.ts";

const recipient = createHpkeRecipientKey(randomBytes(32));
const bytes = (maxLength: number) => fc.uint8Array({ maxLength });

/** Runs `fn`, expecting it to throw a GotongError with one of `codes`; returns what it returned otherwise. */
function refuses(fn: () => unknown, codes: string[]): boolean {
  try {
    fn();
    return false;
  } catch (error) {
    return isGotongError(error) && codes.includes(error.code);
  }
}

describe("privacy properties", () => {
  it("any plaintext, aad and info round-trip through an HPKE context, message after message", () => {
    fc.assert(
      fc.property(bytes(64), fc.array(fc.tuple(bytes(2048), bytes(64)), { minLength: 1, maxLength: 5 }), (info, messages) => {
        const sender = setupBaseS(recipient.publicKey, info);
        const receiver = setupBaseR(sender.enc, recipient, info);
        for (const [pt, aad] of messages) {
          expect(Buffer.from(receiver.open(sender.seal(pt, aad), aad)).equals(Buffer.from(pt))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("any request body, info and extra aad round-trip through an envelope", () => {
    fc.assert(
      fc.property(bytes(4096), bytes(64), fc.option(bytes(64), { nil: undefined }), (body, info, aad) => {
        const { envelope, responseKeys } = sealRequest(recipient.publicKey, body, info, { aad });
        const opened = openRequest(recipient, envelope, info, { aad });
        expect(Buffer.from(opened.plaintext).equals(Buffer.from(body))).toBe(true);
        expect(Buffer.from(opened.responseKeys.secret).equals(Buffer.from(responseKeys.secret))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("no random mutation of an envelope ever opens: each is the uniform envelope_invalid", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("append" as const), extra: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
      fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(bytes(512), bytes(32), fc.array(mutation, { minLength: 1, maxLength: 4 }), (body, info, mutations) => {
        const { envelope } = sealRequest(recipient.publicKey, body, info);
        let tampered = Buffer.from(envelope);
        for (const m of mutations) {
          if (m.kind === "flip") tampered[m.at % tampered.length]! ^= 1 << m.bit;
          else if (m.kind === "set") tampered[m.at % tampered.length] = m.value;
          else if (m.kind === "truncate") tampered = tampered.subarray(0, m.at % tampered.length);
          else if (m.kind === "append") tampered = Buffer.concat([tampered, m.extra]);
          else tampered = Buffer.concat([tampered.subarray(0, m.at % (tampered.length + 1)), m.extra, tampered.subarray(m.at % (tampered.length + 1))]);
          if (tampered.length === 0) break;
        }
        fc.pre(!tampered.equals(Buffer.from(envelope))); // a "set" may write the same byte back
        expect(refuses(() => openRequest(recipient, tampered, info), ["envelope_invalid"])).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("any chunk sequence round-trips through a sealed stream", () => {
    fc.assert(
      fc.property(fc.array(bytes(512), { maxLength: 30 }), (chunks) => {
        const { envelope, responseKeys } = sealRequest(recipient.publicKey, new Uint8Array(0), new Uint8Array(0));
        const sealer = createStreamSealer(openRequest(recipient, envelope, new Uint8Array(0)).responseKeys);
        const opener = createStreamOpener(responseKeys);
        const all = [...chunks, new Uint8Array(0)];
        all.forEach((chunk, i) => {
          const opened = opener.open(sealer.seal(chunk, { final: i === all.length - 1 }));
          expect(Buffer.from(opened.plaintext).equals(Buffer.from(chunk))).toBe(true);
        });
        opener.end();
      }),
      { numRuns: 100 },
    );
  });

  it("any delivery other than the sealed order — shuffled, dropped, duplicated, cut short — is refused", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        (n, picks) => {
          const { envelope, responseKeys } = sealRequest(recipient.publicKey, new Uint8Array(0), new Uint8Array(0));
          const sealer = createStreamSealer(openRequest(recipient, envelope, new Uint8Array(0)).responseKeys);
          const frames = Array.from({ length: n }, (_, i) => sealer.seal(Buffer.from([i]), { final: i === n - 1 }));
          const delivered = picks.map((p) => p % n);
          fc.pre(delivered.join() !== frames.map((_, i) => i).join());
          const opener = createStreamOpener(responseKeys);
          return refuses(() => {
            for (const i of delivered) opener.open(frames[i]!);
            opener.end();
          }, ["stream_out_of_order", "stream_after_final", "stream_truncated"]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
