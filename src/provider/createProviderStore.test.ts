import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { isGotongError } from "../common/errors.ts";
import { createProviderStore } from "./createProviderStore.ts";

const fixture = readFileSync(resolve(import.meta.dirname, "../../test/fixtures/stores/provider-v0.sql"), "utf8");
const hex = (byte: string) => `0x${byte.repeat(32)}` as Hex;
const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), "gotong-pvstore-"));
  dirs.push(dir);
  return join(dir, "provider.db");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A file as the provider wrote it before stores had schema versions. */
function writeUnversionedStore(): string {
  const path = tempDb();
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec(fixture);
  db.close();
  return path;
}
/** A store created by this code: its version is the latest, its schema the one every file ends at. */
function freshStore(): string {
  const path = tempDb();
  createProviderStore(path).close();
  return path;
}
const readMeta = (path: string) => {
  const db = new Database(path, { readonly: true });
  const meta = { version: db.pragma("user_version", { simple: true }), schema: db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all() };
  db.close();
  return meta;
};

describe("the provider's store across versions", () => {
  it("opens a store written before schema versions with every voucher, receipt and held-back redeem, at the latest version", () => {
    const path = writeUnversionedStore();
    expect(readMeta(path).version).toBe(0);
    const store = createProviderStore(path);

    expect(store.getChannel(hex("11"), 3n)).toEqual({
      channelId: hex("11"),
      epoch: 3n,
      owed: 123_456_789_012_345_678_901n,
      redeemed: 100_000_000_000_000_000_000n,
      voucher: { channelId: hex("11"), epoch: 3n, cumulativeAmount: 123_456_789_012_345_678_901n, signature: `0x${"aa".repeat(64)}1b` },
    });
    expect(store.getChannel(hex("22"), 0n)).toEqual({
      channelId: hex("22"),
      epoch: 0n,
      owed: 5_000n,
      redeemed: 0n,
      voucher: { channelId: hex("22"), epoch: 0n, cumulativeAmount: 4_000n, signature: `0x${"cc".repeat(64)}1b` },
    });
    expect(store.unredeemed().map((c) => c.channelId).sort()).toEqual([hex("11"), hex("22")]);
    expect(store.getReceipt(hex("33"))).toEqual({
      requestId: hex("33"),
      channelId: hex("11"),
      weightsHash: hex("44"),
      inputTokens: 17n,
      outputTokens: 42n,
      cost: 23_456_789_012_345_678_901n,
      cumulativeOwed: 123_456_789_012_345_678_901n,
      requestHash: hex("55"),
      responseHash: hex("66"),
      signature: `0x${"bb".repeat(64)}1c`,
    });
    // A served id stays taken; the request that was running when the process stopped ended with it.
    expect(store.reserveRequest(hex("33"), hex("11"))).toBe(false);
    expect(store.isRunning(hex("77"))).toBe(false);
    expect(store.quarantined()).toEqual([
      { channelId: hex("22"), epoch: 0n, cumulativeAmount: 4_000n, reason: "ChannelClosed", permanent: false, attempts: 2, quarantinedAt: 1_700_000_000_004, retryAt: 1_700_000_060_004 },
    ]);
    expect(store.inFlightRedeems()).toEqual([
      { hash: hex("88"), raw: "0x02f8b1827a69", nonce: 7, vouchers: [{ channelId: hex("11"), epoch: 3n, cumulativeAmount: 123_456_789_012_345_678_901n }], createdAt: 1_700_000_000_005 },
    ]);
    // And it keeps working: a higher voucher replaces the one held.
    expect(store.acceptVoucher({ channelId: hex("22"), epoch: 0n, cumulativeAmount: 5_000n, signature: `0x${"dd".repeat(64)}1b` })).toBe(true);
    expect(store.getChannel(hex("22"), 0n).voucher!.cumulativeAmount).toBe(5_000n);
    store.close();

    // Now at the latest version, with the schema a new store has: the unversioned file was taken as
    // version 1 (nothing re-created) and the later migrations, if any, ran on it.
    expect(readMeta(path)).toEqual(readMeta(freshStore()));
    expect(readMeta(path).version).toBeGreaterThanOrEqual(1);
  });

  it("refuses a store written by a newer gotong and leaves it as it was", () => {
    const latest = readMeta(freshStore()).version as number;
    const path = writeUnversionedStore();
    const db = new Database(path);
    db.pragma(`user_version = ${latest + 1}`);
    db.close();
    const error = (() => {
      try {
        createProviderStore(path);
      } catch (e) {
        return e;
      }
    })();
    expect(isGotongError(error, "store_too_new")).toBe(true);
    expect((error as Error).message).toBe(`The provider store at ${path} is at schema version ${latest + 1}, written by a newer gotong; this one reads up to version ${latest}`);
    const after = new Database(path, { readonly: true });
    expect(after.pragma("user_version", { simple: true })).toBe(latest + 1);
    // Not even the running request was cleared: the store was never opened for use.
    expect(after.prepare("SELECT request_id FROM running").all()).toEqual([{ request_id: hex("77") }]);
    after.close();
  });
});

describe("admitting a request in one commit", () => {
  const voucher = (amount: bigint) => ({ channelId: hex("c1"), epoch: 0n, cumulativeAmount: amount, signature: `0x${"ab".repeat(65)}` as Hex });

  it("takes the id, applies the rule and keeps the voucher together", () => {
    const store = createProviderStore(tempDb());
    const admission = store.admitRequest(hex("01"), voucher(500n), () => "rule passed");
    expect(admission).toEqual({ admitted: true, value: "rule passed" });
    expect(store.isRunning(hex("01"))).toBe(true);
    expect(store.getChannel(hex("c1"), 0n).voucher?.cumulativeAmount).toBe(500n);
    store.close();
  });

  it("leaves nothing written when the rule refuses: the id is free again and the voucher not kept", () => {
    const store = createProviderStore(tempDb());
    const refusal = new Error("insufficient deposit");
    expect(() => store.admitRequest(hex("02"), voucher(700n), () => { throw refusal; })).toThrow(refusal);
    expect(store.isRunning(hex("02"))).toBe(false);
    expect(store.getChannel(hex("c1"), 0n).voucher).toBeUndefined();
    expect(store.admitRequest(hex("02"), voucher(700n), () => 1).admitted).toBe(true);
    store.close();
  });

  it("refuses an id already taken without applying the rule or touching the voucher held", () => {
    const store = createProviderStore(tempDb());
    store.admitRequest(hex("03"), voucher(100n), () => 0);
    let ruleRan = false;
    expect(store.admitRequest(hex("03"), voucher(900n), () => (ruleRan = true))).toEqual({ admitted: false });
    expect(ruleRan).toBe(false);
    expect(store.getChannel(hex("c1"), 0n).voucher?.cumulativeAmount).toBe(100n);
    store.close();
  });
});
