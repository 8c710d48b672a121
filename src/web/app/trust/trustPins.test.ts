import { describe, expect, it } from "vitest";
import { parseTrustPins, trustTarget } from "./trustPins.ts";

const gateway = { registry: "0x1111111111111111111111111111111111111111", chainId: 31337 };
const real = "0x2222222222222222222222222222222222222222";

describe("trustTarget", () => {
  it("uses the gateway's registry and chain when nothing is pinned, and says so", () => {
    expect(trustTarget(gateway, {})).toEqual({ registry: gateway.registry, registryFrom: "gateway", chainId: 31337, chainIdFrom: "gateway" });
  });

  it("uses each pinned value instead of the gateway's, and says which", () => {
    expect(trustTarget(gateway, { registry: real })).toEqual({ registry: real, registryFrom: "pinned", chainId: 31337, chainIdFrom: "gateway" });
    expect(trustTarget(gateway, { registry: real, chainId: 8453 })).toEqual({ registry: real, registryFrom: "pinned", chainId: 8453, chainIdFrom: "pinned" });
  });
});

describe("parseTrustPins", () => {
  it("reads empty fields as not pinned", () => {
    expect(parseTrustPins({ registry: " ", chainId: "" })).toEqual({ ok: true, pins: { registry: undefined, chainId: undefined } });
  });

  it("reads an address and a chain id", () => {
    expect(parseTrustPins({ registry: ` ${real} `, chainId: "8453" })).toEqual({ ok: true, pins: { registry: real, chainId: 8453 } });
  });

  it("refuses what is not an address or a chain id, naming the field", () => {
    expect(parseTrustPins({ registry: "0x1234", chainId: "" })).toMatchObject({ ok: false, field: "registry" });
    for (const chainId of ["0", "-1", "1.5", "abc", "99999999999999999999"]) expect(parseTrustPins({ registry: "", chainId })).toMatchObject({ ok: false, field: "chainId" });
  });
});
