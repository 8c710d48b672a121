import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import { isGotongError } from "../common/errors.ts";
import type { SignedReceipt } from "../protocol/receipt.ts";
import { hashApiKey } from "./apiKeys/apiKeySecret.ts";
import { createGatewayStore } from "./createGatewayStore.ts";

const id = () => `0x${randomBytes(32).toString("hex")}` as Hex;
const provider = "0x00000000000000000000000000000000000000aa" as Address;
const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), "gotong-gwstore-"));
  dirs.push(dir);
  return join(dir, "gateway.db");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const receipt = (channelId: Hex, cost: bigint): SignedReceipt => ({
  requestId: id(), channelId, weightsHash: id(), inputTokens: 1n, outputTokens: 1n, cost, cumulativeOwed: cost, requestHash: id(), responseHash: id(), signature: "0x00",
});

describe("the gateway's store", () => {
  it("adds a receipt's cost once, however often and however concurrently it is accepted", async () => {
    const store = createGatewayStore(tempDb());
    const channelId = id();
    store.putChannel({ channelId, provider, modelId: 1n, epoch: 0n, deposit: 10_000n, spent: 0n });
    const receipts = Array.from({ length: 20 }, (_, i) => receipt(channelId, BigInt(100 + i)));
    // Every receipt accepted three times, interleaved, from "overlapping requests".
    await Promise.all([...receipts, ...receipts, ...receipts].map(async (r) => store.addReceipt({ receipt: r, provider, modelId: 1n, modelName: "m" }, 0n)));
    expect(store.getChannel(channelId)!.spent).toBe(receipts.reduce((a, r) => a + r.cost, 0n));
    expect(store.listReceipts(100)).toHaveLength(20);
    // A receipt from a previous epoch of the channel adds nothing to the new one.
    store.putChannel({ ...store.getChannel(channelId)!, epoch: 1n, spent: 0n });
    expect(store.addReceipt({ receipt: receipt(channelId, 5n), provider, modelId: 1n, modelName: "m" }, 0n).added).toBe(false);
    expect(store.getChannel(channelId)!.spent).toBe(0n);
    store.close();
  });

  it("keeps several channels of one (provider, model), one per salt, the most recently used first", async () => {
    const store = createGatewayStore(tempDb());
    const [closing, fresh, other] = [id(), id(), id()];
    store.putChannel({ channelId: closing, provider, modelId: 1n, salt: 0n, epoch: 0n, deposit: 500n, spent: 500n });
    await new Promise((resolve) => setTimeout(resolve, 5)); // updated_at has millisecond resolution
    store.putChannel({ channelId: fresh, provider, modelId: 1n, salt: 1n, epoch: 0n, deposit: 10_000n, spent: 0n });
    store.putChannel({ channelId: other, provider, modelId: 2n, salt: 0n, epoch: 0n, deposit: 10_000n, spent: 0n });
    // The provider's address is matched whatever its case (checksummed or not).
    expect(store.listChannelsFor(provider.toUpperCase().replace("0X", "0x") as Address, 1n).map((c) => [c.channelId, c.salt])).toEqual([[fresh, 1n], [closing, 0n]]);
    // A receipt on the older channel makes it the most recently used; its salt never changes.
    expect(store.addReceipt({ receipt: receipt(closing, 0n), provider, modelId: 1n, modelName: "m" }, 0n).added).toBe(true);
    store.putChannel({ ...store.getChannel(closing)!, salt: 9n });
    expect(store.listChannelsFor(provider, 1n).map((c) => [c.channelId, c.salt])).toEqual([[closing, 0n], [fresh, 1n]]);
    expect(store.listChannelsFor(provider, 3n)).toEqual([]);
    store.close();
  });

  it("remembers refused providers after a restart", () => {
    const path = tempDb();
    const store = createGatewayStore(path);
    store.addRefusal(id(), provider, "receipt_overcount", "bills 1000000 input tokens");
    store.close();
    const again = createGatewayStore(path);
    expect(again.refusedProviders()).toEqual([provider]);
    again.close();
  });

  it("opens a store written before pending requests carried their bounds", () => {
    const path = tempDb();
    const old = new Database(path);
    old.exec(`CREATE TABLE pending (request_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, epoch TEXT NOT NULL, observed_output_tokens TEXT NOT NULL, created_at INTEGER NOT NULL);`);
    const channelId = id();
    const requestId = id();
    old.prepare("INSERT INTO pending VALUES (?, ?, '0', '7', 0)").run(requestId, channelId);
    old.close();
    const store = createGatewayStore(path);
    const [pending] = store.listPending(channelId);
    expect(pending).toMatchObject({ requestId, observedOutputTokens: 7n });
    expect(pending!.maxInputTokens).toBe(2n ** 53n - 1n);
    store.close();
  });
});

describe("the gateway's store across versions", () => {
  const fixture = readFileSync(resolve(import.meta.dirname, "../../test/fixtures/stores/gateway-v0.sql"), "utf8");
  const hex = (byte: string) => `0x${byte.repeat(32)}` as Hex;
  const channelId = hex("11");
  const keyId = "key_0123456789abcdef";
  const keyCreatedAt = 1_700_000_000_000;
  /** A file as the gateway wrote it before stores had schema versions. */
  const writeUnversionedStore = () => {
    const path = tempDb();
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.exec(fixture);
    db.close();
    return path;
  };
  const readMeta = (path: string) => {
    const db = new Database(path, { readonly: true });
    const meta = { version: db.pragma("user_version", { simple: true }), schema: db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all() };
    db.close();
    return meta;
  };
  /** A store created by this code: its version is the latest, its schema the one every file ends at. */
  const freshStore = () => {
    const path = tempDb();
    createGatewayStore(path).close();
    return path;
  };
  const fixtureReceipt = (requestId: Hex, inputTokens: bigint, outputTokens: bigint, cost: bigint, cumulativeOwed: bigint, hashes: [Hex, Hex], signature: Hex): SignedReceipt => ({
    requestId, channelId, weightsHash: hex("44"), inputTokens, outputTokens, cost, cumulativeOwed, requestHash: hashes[0], responseHash: hashes[1], signature,
  });

  it("opens a store written before schema versions with every channel, receipt, pending request and API key, at the latest version", () => {
    const path = writeUnversionedStore();
    expect(readMeta(path).version).toBe(0);
    const store = createGatewayStore(path);

    // toMatchObject: a later version may add fields (each listed one is still compared exactly).
    expect(store.listChannels()).toHaveLength(1);
    expect(store.listChannels()[0]).toMatchObject({ channelId, provider: "0x00000000000000000000000000000000000000a1", modelId: 7n, epoch: 3n, deposit: 500_000_000_000_000_000_000n, spent: 123_456_789_012_345_678_901n });
    const keyed = { receipt: fixtureReceipt(hex("33"), 17n, 42n, 23_456_789_012_345_678_901n, 23_456_789_012_345_678_901n, [hex("55"), hex("66")], `0x${"bb".repeat(64)}1c`), provider: "0x00000000000000000000000000000000000000a1", modelId: 7n, modelName: "tiny-llama", createdAt: 1_700_000_000_100, keyId };
    const keyless = { receipt: fixtureReceipt(hex("77"), 3n, 9n, 100_000_000_000_000_000_000n, 123_456_789_012_345_678_901n, [`0x${"55".repeat(31)}56`, `0x${"66".repeat(31)}67`], `0x${"dd".repeat(64)}1b`), provider: "0x00000000000000000000000000000000000000a1", modelId: 7n, modelName: "tiny-llama", createdAt: 1_700_000_000_200 };
    expect(store.listReceipts(10)).toEqual([keyless, keyed]);
    expect(store.listReceipts(10, keyId)).toEqual([keyed]);
    expect(store.listPending(channelId)).toEqual([{ requestId: hex("99"), channelId, epoch: 3n, observedOutputTokens: 12n, maxInputTokens: 4_096n, maxOutputTokens: 256n }]);
    expect(store.refusedProviders()).toEqual(["0x00000000000000000000000000000000000000b2"]);
    const record = { id: keyId, name: "app", budget: 1_000_000_000_000_000_000_000n, periodSeconds: 86_400, rpm: 60, createdAt: keyCreatedAt, revokedAt: undefined };
    expect(store.apiKeys.findByHash(hashApiKey("gk-AAAAAAAAAAAAAAAAAAAAfixtureKeyForStoreTest0"))).toEqual({ ...record, keyHash: "272963e22b32bd6c8d832312b724537d84e41229c746b46cb98c02e1f8a3f45e" });
    const hourLater = keyCreatedAt + 3_600_000;
    expect(store.apiKeys.usage(keyId, hourLater)).toEqual({
      ...record, periodStart: keyCreatedAt, periodEnd: keyCreatedAt + 86_400_000, spent: 23_456_789_012_345_678_901n, reserved: 3_000_000_000_000_000_000n, requests: 1, totalSpent: 23_456_789_012_345_678_901n,
    });

    // And it keeps working: the cut request's receipt settles, paid once, charged to its key.
    const late = fixtureReceipt(hex("99"), 5n, 12n, 2_000_000_000_000_000_000n, 125_456_789_012_345_678_901n, [hex("ab"), hex("cd")], `0x${"ef".repeat(64)}1b`);
    expect(store.addReceipt({ receipt: late, provider: "0x00000000000000000000000000000000000000a1", modelId: 7n, modelName: "tiny-llama" }, 3n).added).toBe(true);
    expect(store.getChannel(channelId)!.spent).toBe(125_456_789_012_345_678_901n);
    expect(store.listPending(channelId)).toEqual([]);
    expect(store.apiKeys.usage(keyId, hourLater)).toMatchObject({ spent: 25_456_789_012_345_678_901n, reserved: 0n, requests: 2, totalSpent: 25_456_789_012_345_678_901n });
    expect(store.listReceipts(1)[0]!.keyId).toBe(keyId);
    store.close();

    // Now at the latest version, with the schema (API-key tables included) a new store has: the
    // unversioned file was taken as version 1 and the later migrations, if any, ran on it.
    expect(readMeta(path)).toEqual(readMeta(freshStore()));
    expect(readMeta(path).version).toBeGreaterThanOrEqual(1);
  });

  it("refuses a store written by a newer gotong and leaves it as it was", () => {
    const latest = readMeta(freshStore()).version as number;
    const path = writeUnversionedStore();
    const db = new Database(path);
    db.pragma(`user_version = ${latest + 1}`);
    db.close();
    let error: unknown;
    try {
      createGatewayStore(path);
    } catch (e) {
      error = e;
    }
    expect(isGotongError(error, "store_too_new")).toBe(true);
    expect((error as Error).message).toBe(`The gateway store at ${path} is at schema version ${latest + 1}, written by a newer gotong; this one reads up to version ${latest}`);
    expect(readMeta(path).version).toBe(latest + 1);
    expect(readMeta(path).schema).toEqual(readMeta(writeUnversionedStore()).schema);
  });
});
