import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import type { SignedReceipt } from "../protocol/receipt.ts";
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
