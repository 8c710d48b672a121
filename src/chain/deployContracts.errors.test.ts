import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import type { ChainClients } from "./createClients.ts";
import { deployContracts } from "./deployContracts.ts";

/** Clients whose first deployment is mined with `receipt`, or throws `thrown`. */
function clientsWhere(outcome: { receipt?: { status: "success" | "reverted"; contractAddress: Hex | null }; thrown?: unknown }): ChainClients {
  const hash = `0x${"ab".repeat(32)}` as Hex;
  return {
    account: { address: "0x00000000000000000000000000000000000000a1" },
    chain: { id: 31337 },
    wallet: {
      deployContract: async () => {
        if (outcome.thrown) throw outcome.thrown;
        return hash;
      },
    },
    public: {
      getBlockNumber: async () => 1n,
      waitForTransactionReceipt: async () => ({ ...outcome.receipt, transactionHash: hash }),
    },
  } as unknown as ChainClients;
}

describe("deployContracts refusals", () => {
  it("names the contract whose deployment reverted", async () => {
    const error = await deployContracts(clientsWhere({ receipt: { status: "reverted", contractAddress: null } }), { rpcUrl: "http://x" }).catch((e: unknown) => e);
    expect(isGotongError(error, "deploy_failed"), String(error)).toBe(true);
    expect((error as Error).message).toBe(`Deploying TestToken failed: transaction 0x${"ab".repeat(32)} reverted`);
  });

  it("says so when a mined deployment made no contract", async () => {
    const error = await deployContracts(clientsWhere({ receipt: { status: "success", contractAddress: null } }), { rpcUrl: "http://x" }).catch((e: unknown) => e);
    expect(isGotongError(error, "deploy_failed")).toBe(true);
    expect((error as Error).message).toMatch(/^Deploying TestToken failed: transaction 0x(ab){32} created no contract$/);
  });

  it("wraps a failure to send as deploy_failed with the cause", async () => {
    const cause = new Error("nonce too low");
    const error = await deployContracts(clientsWhere({ thrown: cause }), { rpcUrl: "http://x" }).catch((e: unknown) => e);
    expect(isGotongError(error, "deploy_failed")).toBe(true);
    expect((error as Error).message).toBe("Deploying TestToken failed: nonce too low");
    expect((error as Error).cause).toBe(cause);
  });
});
