import { describe, expect, it } from "vitest";
import * as lists from "./errorCodes.ts";
import { gotongErrorCodeOf, gotongErrorCodes, isGotongErrorCode } from "./errorCodes.ts";

const domains = Object.entries(lists).filter(([name, value]) => name.endsWith("ErrorCodes") && name !== "gotongErrorCodes" && Array.isArray(value)) as [string, readonly string[]][];

describe("error codes", () => {
  it("has one list per domain, and every list in the union of all", () => {
    expect(domains.map(([name]) => name).sort()).toEqual(
      ["agent", "chain", "cli", "common", "funding", "gateway", "model", "payments", "privacy", "provider", "web"].map((d) => `${d}ErrorCodes`),
    );
    expect([...gotongErrorCodes].sort()).toEqual(domains.flatMap(([, codes]) => codes).sort());
  });

  it("gives each code to exactly one domain", () => {
    const owners = new Map<string, string[]>();
    for (const [name, codes] of domains) for (const code of codes) owners.set(code, [...(owners.get(code) ?? []), name]);
    expect([...owners].filter(([, names]) => names.length > 1)).toEqual([]);
  });

  it("spells every code in snake_case, as clients match them", () => {
    expect(gotongErrorCodes.filter((code) => !/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(code))).toEqual([]);
  });

  it("tells a known code that arrived over the wire from an unknown one", () => {
    expect(isGotongErrorCode("channel_closing")).toBe(true);
    expect(isGotongErrorCode("http_429")).toBe(true);
    expect(isGotongErrorCode("http_4290")).toBe(false);
    expect(isGotongErrorCode("some_upstream_code")).toBe(false);
    expect(isGotongErrorCode(42)).toBe(false);
    expect(gotongErrorCodeOf("insufficient_deposit", "chat_failed")).toBe("insufficient_deposit");
    expect(gotongErrorCodeOf("model_overloaded_upstream", "chat_failed")).toBe("chat_failed");
    expect(gotongErrorCodeOf(undefined, "chat_failed")).toBe("chat_failed");
  });
});
