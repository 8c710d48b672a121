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

describe("createPassBatcher", () => {
  it("attests each provider's passes in one transaction, keeps refused ones for the next batch, and flushes on stop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gotong-passes-"));
    dirs.push(dir);
    const store = createValidatorStore(join(dir, "v.db"));
    const refuse = new Set<string>([b]);
    const { clients, attested } = fakeClients(refuse);
    const batcher = createPassBatcher({ clients, servingVerification: "0x00000000000000000000000000000000000000d1", store, logger: createLogger({ level: "silent" }), intervalMs: 3_600_000 });
    batcher.add(a, `0x${"01".repeat(32)}`);
    batcher.add(a, `0x${"02".repeat(32)}`);
    batcher.add(a, `0x${"02".repeat(32)}`); // the same evidence again: not a second pass
    batcher.add(b, `0x${"03".repeat(32)}`);
    expect(await batcher.flush()).toBe(2);
    expect(attested).toEqual([[a, 2n]]);
    expect(store.pendingPasses()).toEqual([{ provider: b, count: 1 }]);
    refuse.clear();
    await batcher.stop();
    expect(attested).toEqual([[a, 2n], [b, 1n]]);
    expect(store.pendingPasses()).toEqual([]);
    store.close();
  });
});
