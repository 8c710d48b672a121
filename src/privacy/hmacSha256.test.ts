import { createHmac, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hmacSha256 } from "./hmacSha256.ts";

const reference = (key: Uint8Array, parts: Uint8Array[]) => {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

describe("hmacSha256", () => {
  it("matches RFC 4231 test case 2 (a key shorter than the block)", () => {
    const mac = hmacSha256(Buffer.from("Jefe"), [Buffer.from("what do ya want "), Buffer.from("for nothing?")]);
    expect(mac.toString("hex")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("matches RFC 4231 test case 6 (a 131-byte key, hashed first)", () => {
    const mac = hmacSha256(Buffer.alloc(131, 0xaa), [Buffer.from("Test Using Larger Than Block-Size Key - Hash Key First")]);
    expect(mac.toString("hex")).toBe("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  });

  it("matches node:crypto for any key, any split of the input, and inputs past the reused scratch", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 5 }),
        (key, parts) => {
          expect(hmacSha256(key, parts)).toEqual(reference(key, parts));
        },
      ),
      { numRuns: 2000 },
    );
    const huge = randomBytes(200_000); // larger than the scratch it keeps: a one-off buffer
    expect(hmacSha256(Buffer.from("k"), [huge, huge])).toEqual(reference(Buffer.from("k"), [huge, huge]));
  });

  it("returns a fresh buffer each call, untouched by the next call", () => {
    const a = hmacSha256(Buffer.from("key"), [Buffer.from("one")]);
    const copy = Buffer.from(a);
    hmacSha256(Buffer.from("other"), [Buffer.from("two")]);
    expect(a).toEqual(copy);
  });
});
