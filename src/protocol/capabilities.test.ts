import { describe, expect, it } from "vitest";
import { CAPABILITIES, decodeCapabilities, encodeCapabilities, isCapability, type Capability } from "./capabilities.ts";

describe("capabilities codec", () => {
  it("gives each capability its own fixed bit", () => {
    expect(encodeCapabilities(["chat"])).toBe(1n);
    expect(encodeCapabilities(["embeddings"])).toBe(2n);
    expect(encodeCapabilities(["tools"])).toBe(4n);
    expect(encodeCapabilities(["structured_outputs"])).toBe(8n);
    expect(encodeCapabilities([])).toBe(0n);
  });

  it("round-trips every subset, in bit order, whatever order it was given in", () => {
    for (let mask = 0; mask < 1 << CAPABILITIES.length; mask++) {
      const subset = CAPABILITIES.filter((_, i) => (mask >> i) & 1);
      expect(encodeCapabilities([...subset].reverse())).toBe(BigInt(mask));
      expect(decodeCapabilities(BigInt(mask))).toEqual(subset);
    }
  });

  it("counts a repeated capability once", () => {
    expect(encodeCapabilities(["chat", "chat", "tools"])).toBe(5n);
  });

  it("ignores bits it does not know, so a newer provider's offer still decodes", () => {
    expect(decodeCapabilities((1n << 200n) | (1n << 4n) | 9n)).toEqual(["chat", "structured_outputs"]);
    expect(decodeCapabilities(1n << 255n)).toEqual([]);
  });

  it("refuses to encode a name it does not know", () => {
    expect(() => encodeCapabilities(["chat", "vision" as Capability])).toThrow(/Unknown capability "vision"/);
    expect(isCapability("tools")).toBe(true);
    expect(isCapability("vision")).toBe(false);
    expect(isCapability("toString")).toBe(false);
  });
});
