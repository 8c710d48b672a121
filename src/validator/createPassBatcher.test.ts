import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "viem";
import { afterEach, describe, expect, it } from "vitest";
import type { ChainClients } from "../chain/createClients.ts";
import { createLogger } from "../common/logger.ts";
import { createPassBatcher } from "./createPassBatcher.ts";
import { createValidatorStore } from "./createValidatorStore.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const a = "0x00000000000000000000000000000000000000a1" as Address;
const b = "0x00000000000000000000000000000000000000b2" as Address;

/** Clients whose attestPasses succeeds, except for providers in `refuse`. */
function fakeClients(refuse: Set<string>) {
  const attested: [string, bigint][] = [];
  const clients = {
    account: { address: "0x00000000000000000000000000000000000000ee" },
    public: {
      simulateContract: async (q: { functionName: string; args: [Address, bigint] }) => {
        if (refuse.has(q.args[0])) throw new Error("ProviderNotRegistered");
        return { request: q, result: undefined };
      },
      waitForTransactionReceipt: async () => ({ status: "success" }),
    },
    wallet: {
      writeContract: async (q: { args: [Address, bigint] }) => {
        attested.push([q.args[0], q.args[1]]);
        return `0x${"bb".repeat(32)}`;
      },
    },
  } as unknown as ChainClients;
  return { clients, attested };
}

/** A batcher on a fresh store, with a clock the test moves. */
function setup(options: { refuse?: Set<string>; minPasses?: number; maxAgeMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "gotong-passes-"));
  dirs.push(dir);
  const store = createValidatorStore(join(dir, "v.db"));
  const { clients, attested } = fakeClients(options.refuse ?? new Set());
  const clock = { now: 1_000_000 };
  const batcher = createPassBatcher({
    clients,
    servingVerification: "0x00000000000000000000000000000000000000d1",
    store,
    logger: createLogger({ level: "silent" }),
    intervalMs: 3_600_000,
    minPasses: options.minPasses,
    maxAgeMs: options.maxAgeMs,
    now: () => clock.now,
  });
  let n = 0;
  const pass = (provider: Address, times = 1) => {
    for (let i = 0; i < times; i++) batcher.add(provider, `0x${(++n).toString(16).padStart(64, "0")}`);
  };
  return { store, batcher, attested, clock, pass };
}

describe("createPassBatcher", () => {
  it("attests each provider's passes in one transaction when flushed, keeps refused ones for the next batch, and counts replayed evidence once", async () => {
    const refuse = new Set<string>([b]);
    const { store, batcher, attested } = setup({ refuse });
    batcher.add(a, `0x${"01".repeat(32)}`);
    batcher.add(a, `0x${"02".repeat(32)}`);
    batcher.add(a, `0x${"02".repeat(32)}`); // the same evidence again: not a second pass
    batcher.add(b, `0x${"03".repeat(32)}`);
    expect(await batcher.flush()).toBe(2);
    expect(attested).toEqual([[a, 2n]]);
    expect(store.pendingPasses().map((p) => [p.provider, p.count])).toEqual([[b, 1]]);
    refuse.clear();
    expect(await batcher.flush()).toBe(1);
    expect(attested).toEqual([[a, 2n], [b, 1n]]);
    expect(store.pendingPasses()).toEqual([]);
    store.close();
  });

  it("attests a provider's passes only once enough are pending or the oldest is old enough, one transaction per due provider", async () => {
    const { store, batcher, attested, clock, pass } = setup({ minPasses: 3, maxAgeMs: 60_000 });
    pass(a, 2);
    clock.now += 10_000;
    pass(b, 1);
    expect(await batcher.attestDue()).toBe(0); // a has 2 of 3, b's pass is 0 s old
    expect(attested).toEqual([]);
    pass(a, 1); // a reaches 3
    expect(await batcher.attestDue()).toBe(3);
    expect(attested).toEqual([[a, 3n]]);
    clock.now += 59_999; // b's pass is 59.999 s old
    expect(await batcher.attestDue()).toBe(0);
    clock.now += 1;
    expect(await batcher.attestDue()).toBe(1);
    expect(attested).toEqual([[a, 3n], [b, 1n]]);
    expect(store.pendingPasses()).toEqual([]);
    store.close();
  });

  it("sends nothing on stop: passes not yet due stay on disk and are attested after a restart once due", async () => {
    const { store, batcher, attested, clock, pass } = setup({ minPasses: 50, maxAgeMs: 60_000 });
    pass(a, 2);
    batcher.start(); // nothing due at start
    await batcher.stop();
    expect(attested).toEqual([]);
    expect(store.pendingPasses().map((p) => p.count)).toEqual([2]);
    clock.now += 60_000;
    batcher.start(); // due by age now: attested at start, not a tick later
    await batcher.stop();
    expect(attested).toEqual([[a, 2n]]);
    expect(store.pendingPasses()).toEqual([]);
    store.close();
  });

  it("never attests the same passes twice when runs overlap", async () => {
    const { store, batcher, attested, pass } = setup({ minPasses: 1 });
    pass(a, 4);
    const runs = await Promise.all([batcher.attestDue(), batcher.attestDue(), batcher.flush(), batcher.attestDue()]);
    expect(runs.reduce((x, y) => x + y, 0)).toBe(4);
    expect(attested).toEqual([[a, 4n]]);
    store.close();
  });
});
