import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import { createRequestInfo } from "./createRequestInfo.ts";
import { hpkeKeyPath, loadHpkeKeyRing, loadOrCreateHpkeKey, previousHpkeKeyPath, rotateHpkeKey } from "./loadOrCreateHpkeKey.ts";
import { openRequest } from "./openRequest.ts";
import { sealRequest } from "./sealRequest.ts";

const dirs: string[] = [];
const tempKeysDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "gotong-hpke-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const info = createRequestInfo({ chainId: 1n, provider: "0x3333333333333333333333333333333333333333" });
const bytesOf = (hex: string) => Buffer.from(hex.slice(2), "hex");
const body = Buffer.from("in flight");

describe("HPKE key files", () => {
  it("creates the key once, mode 0600, and loads the same key after", () => {
    const dir = tempKeysDir();
    const first = loadOrCreateHpkeKey(dir, "provider");
    expect(first.publicKey).toMatch(/^0x[0-9a-f]{64}$/);
    expect(statSync(hpkeKeyPath(dir, "provider")).mode & 0o777).toBe(0o600);
    expect(loadOrCreateHpkeKey(dir, "provider").publicKey).toBe(first.publicKey);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("rotation keeps the old key for in-flight requests during the grace period, then deletes it", () => {
    const dir = tempKeysDir();
    const old = loadOrCreateHpkeKey(dir, "provider");
    const inFlight = sealRequest(bytesOf(old.publicKey), body, info).envelope;

    const fresh = rotateHpkeKey(dir, "provider");
    expect(fresh.publicKey).not.toBe(old.publicKey);
    expect(loadOrCreateHpkeKey(dir, "provider").publicKey).toBe(fresh.publicKey);
    for (const path of [hpkeKeyPath(dir, "provider"), previousHpkeKeyPath(dir, "provider")]) {
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);

    const ring = loadHpkeKeyRing(dir, "provider", { graceMs: 60_000 });
    expect(ring.previous).toHaveLength(1);
    expect(Buffer.from(openRequest(ring, inFlight, info).plaintext)).toEqual(body);
    const toNew = sealRequest(bytesOf(fresh.publicKey), body, info).envelope;
    expect(Buffer.from(openRequest(ring, toNew, info).plaintext)).toEqual(body);

    // past the grace period the previous key no longer opens anything, and its file is gone
    const retired = statSync(previousHpkeKeyPath(dir, "provider")).mtime;
    utimesSync(previousHpkeKeyPath(dir, "provider"), retired, new Date(retired.getTime() - 120_000));
    const later = loadHpkeKeyRing(dir, "provider", { graceMs: 60_000 });
    expect(later.previous).toHaveLength(0);
    expect(existsSync(previousHpkeKeyPath(dir, "provider"))).toBe(false);
    let error: unknown;
    try {
      openRequest(later, inFlight, info);
    } catch (e) {
      error = e;
    }
    expect(isGotongError(error, "envelope_invalid")).toBe(true);
    expect(Buffer.from(openRequest(later, toNew, info).plaintext)).toEqual(body);
  });

  it("rotating a role that has no key yet just creates one", () => {
    const dir = tempKeysDir();
    const created = rotateHpkeKey(dir, "provider");
    expect(existsSync(previousHpkeKeyPath(dir, "provider"))).toBe(false);
    expect(loadOrCreateHpkeKey(dir, "provider").publicKey).toBe(created.publicKey);
  });
});
