import { describe, expect, it } from "vitest";
import type { Address } from "viem";
import { createRecordWatcher } from "./createRecordWatcher.ts";
import type { ProviderRecord } from "./providerRecord.ts";

const A = "0x00000000000000000000000000000000000000Aa" as Address;
const B = "0x00000000000000000000000000000000000000bB" as Address;
const clean: ProviderRecord = { challengesPassed: 3n, challengesFailed: 0n, slashed: 0n, suspended: false };

describe("createRecordWatcher", () => {
  it("reads every provider's record in a round, answers by address in any case, and keeps the last record when a read fails", async () => {
    const onChain = new Map<string, ProviderRecord | Error>([[A, clean], [B, clean]]);
    const reads: Address[] = [];
    const watcher = createRecordWatcher({
      providers: async () => [A, B, A],
      read: async (provider) => {
        reads.push(provider);
        const r = onChain.get(provider)!;
        if (r instanceof Error) throw r;
        return r;
      },
    });
    expect(watcher.recordOf(A)).toBeUndefined();
    await watcher.refreshNow();
    expect(reads).toEqual([A, B]); // one read per provider, however many offers it has
    expect(watcher.recordOf(A.toLowerCase() as Address)).toEqual(clean);
    const suspended = { challengesPassed: 3n, challengesFailed: 1n, slashed: 1_000_000n, suspended: true };
    onChain.set(A, suspended);
    onChain.set(B, new Error("RPC down"));
    await watcher.refreshNow();
    expect(watcher.recordOf(A)).toEqual(suspended);
    expect(watcher.recordOf(B)).toEqual(clean);
  });

  it("keeps what it had when the providers cannot be listed, and stops its rounds", async () => {
    let fail = false;
    const watcher = createRecordWatcher({ providers: async () => (fail ? Promise.reject(new Error("chain down")) : [A]), read: async () => clean, intervalMs: 5 });
    watcher.start();
    await watcher.refreshNow();
    expect(watcher.recordOf(A)).toEqual(clean);
    fail = true;
    await new Promise((r) => setTimeout(r, 20));
    expect(watcher.recordOf(A)).toEqual(clean);
    await watcher.stop();
  });
});
