import { describe, expect, it } from "vitest";
import { bigintAsString } from "./bigintJson.ts";

describe("bigintAsString", () => {
  it("writes amounts beyond 2^53 exactly, as decimal strings, in nested objects and arrays", () => {
    const amount = 123_456_789_012_345_678_901_234_567_890n;
    const text = JSON.stringify({ cost: amount, split: [1n, 0n, -5n], nested: { epoch: 2n ** 64n - 1n } }, bigintAsString);
    expect(text).toBe('{"cost":"123456789012345678901234567890","split":["1","0","-5"],"nested":{"epoch":"18446744073709551615"}}');
    expect(BigInt((JSON.parse(text) as { cost: string }).cost)).toBe(amount);
  });

  it("leaves every other value as JSON.stringify writes it", () => {
    expect(JSON.stringify({ n: 1.5, s: "2", b: true, z: null, u: undefined }, bigintAsString)).toBe('{"n":1.5,"s":"2","b":true,"z":null}');
    expect(() => JSON.stringify({ cost: 1n })).toThrow(TypeError); // what the replacer is for
  });
});
