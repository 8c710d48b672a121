import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import { refuseFeeOnTransfer } from "./checkPaymentToken.ts";
import type { ChainClients } from "./createClients.ts";

const token = { address: "0x00000000000000000000000000000000000000c0", symbol: "FEE", decimals: 6 } as const;

/** Clients whose token balance reads are `balances` in turn, recording the transfers sent. */
function clientsReading(balances: bigint[]) {
  const sent: unknown[][] = [];
  const clients = {
    account: { address: "0x00000000000000000000000000000000000000a1" },
    chain: { id: 4242 },
    public: {
      readContract: async () => balances.shift(),
      simulateContract: async (call: { args: unknown[] }) => ({ request: call, result: true }),
      waitForTransactionReceipt: async () => ({ status: "success" }),
    },
    wallet: {
      writeContract: async (request: { args: unknown[] }) => {
        sent.push(request.args);
        return `0x${"ab".repeat(32)}` as Hex;
      },
    },
  } as unknown as ChainClients;
  return { clients, sent };
}

describe("refuseFeeOnTransfer", () => {
  it("passes a token whose self-transfer leaves the balance unchanged", async () => {
    const { clients, sent } = clientsReading([5_000_000n, 5_000_000n]);
    expect(await refuseFeeOnTransfer(clients, token)).toBe(true);
    expect(sent).toEqual([["0x00000000000000000000000000000000000000a1", 1n]]);
  });

  it("refuses a token that skims a transfer, naming both balances", async () => {
    const { clients } = clientsReading([5_000_000n, 4_999_999n]);
    const error = await refuseFeeOnTransfer(clients, token).catch((e: unknown) => e);
    expect(isGotongError(error, "token_unsupported"), String(error)).toBe(true);
    expect((error as Error).message).toBe(`FEE at ${token.address} takes a fee on transfer: a self-transfer of 1 base unit changed the balance from 5000000 to 4999999`);
  });

  it("sends nothing and says it could not measure when the deployer holds none", async () => {
    const { clients, sent } = clientsReading([0n]);
    expect(await refuseFeeOnTransfer(clients, token)).toBe(false);
    expect(sent).toEqual([]);
  });
});
