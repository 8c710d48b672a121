import { describe, expect, it } from "vitest";
import { toFunctionSelector, zeroAddress, type AbiFunction, type Address } from "viem";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { isGotongError } from "../common/errors.ts";
import { checkAgentPolicy, defaultAgentPolicy, selectors } from "./agentPolicy.ts";

const a = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Address;
const deployment = {
  chainId: 31337,
  rpcUrl: "http://127.0.0.1:8545",
  startBlock: "0",
  token: { address: a(1), symbol: "gUSD", decimals: 6 },
  modelRegistry: a(2),
  providerRegistry: a(3),
  paymentChannels: a(4),
  fundingPool: a(5),
  quadraticFunding: a(5),
  agentWalletFactory: a(6),
  agentRegistry: a(7),
  agentReputation: a(8),
  protocolFeeBps: 200,
  challengePeriod: 3600,
  minStake: "0",
} satisfies Deployment;

function refusal(fn: () => void): string | undefined {
  try {
    fn();
  } catch (error) {
    return isGotongError(error) ? error.code : "not a GotongError";
  }
  return undefined;
}

describe("defaultAgentPolicy", () => {
  it("allows exactly what the SDK calls, on the deployment's contracts", () => {
    const policy = defaultAgentPolicy(deployment, { budget: 10_000_000n });
    expect(policy.budgets).toEqual([{ token: a(1), budget: 10_000_000n, maxPerTransaction: 10_000_000n, period: 86_400 }]);
    const calls = policy.calls.map((c) => `${c.target}:${c.selector}`);
    expect(calls).toContain(`${a(1)}:${selectors.transfer}`);
    expect(calls).toContain(`${a(1)}:${selectors.approve}`);
    expect(calls).toContain(`${a(4)}:${selectors.open}`);
    expect(calls).toContain(`${a(5)}:${selectors.donate}`);
    expect(calls).toContain(`${a(8)}:${selectors.payAgent}`);
    // Nothing that moves the wallet's tokens without passing the meter: no transferFrom, no multicall.
    expect(calls).not.toContain(`${a(1)}:${toFunctionSelector("transferFrom(address,address,uint256)")}`);
    expect(policy.calls.every((c) => c.selector !== "0x00000000")).toBe(true);
    expect(policy.signatureVerifiers).toEqual([a(4), a(7)]);
    // Only a channel withdrawal gives budget back (its refund), and it is an allowed call too.
    expect(policy.refundCalls).toEqual([{ target: a(4), selector: selectors.withdraw }]);
    expect(calls).toContain(`${a(4)}:${selectors.withdraw}`);
    // The selectors are the compiled PaymentChannels' (open takes a salt).
    const compiled = (name: string) => toFunctionSelector(PaymentChannelsArtifact.abi.find((item) => item.type === "function" && item.name === name) as AbiFunction);
    expect([selectors.open, selectors.topUp, selectors.startClose, selectors.withdraw]).toEqual(["open", "topUp", "startClose", "withdraw"].map(compiled));
  });

  it("adds a native budget only when asked", () => {
    const policy = defaultAgentPolicy(deployment, { budget: 1n, nativeBudget: 10n ** 17n, period: 3600 });
    expect(policy.budgets[1]).toEqual({ token: zeroAddress, budget: 10n ** 17n, maxPerTransaction: 10n ** 17n, period: 3600 });
  });

  it("selectors match the contracts' functions", () => {
    expect(selectors.transfer).toBe("0xa9059cbb");
    expect(selectors.approve).toBe("0x095ea7b3");
  });
});

describe("checkAgentPolicy", () => {
  const base = defaultAgentPolicy(deployment, { budget: 10n });
  it("accepts the default policy", () => expect(refusal(() => checkAgentPolicy(base))).toBeUndefined());
  it("refuses an impossible period", () => {
    for (const period of [0, 59, 366 * 86_400 + 1, 1.5, Number.NaN]) {
      expect(refusal(() => checkAgentPolicy({ ...base, budgets: [{ ...base.budgets[0]!, period }] })), String(period)).toBe("invalid_period");
    }
  });
  it("refuses a cap of zero or above the budget, and a budget above 2^128 - 1", () => {
    expect(refusal(() => checkAgentPolicy({ ...base, budgets: [{ ...base.budgets[0]!, maxPerTransaction: 0n }] }))).toBe("invalid_policy");
    expect(refusal(() => checkAgentPolicy({ ...base, budgets: [{ ...base.budgets[0]!, maxPerTransaction: 11n }] }))).toBe("invalid_policy");
    expect(refusal(() => checkAgentPolicy({ ...base, budgets: [{ ...base.budgets[0]!, budget: 2n ** 128n, maxPerTransaction: 1n }] }))).toBe("invalid_policy");
  });
  it("lets a budget of zero remove a token's budget whatever its period", () => {
    expect(refusal(() => checkAgentPolicy({ ...base, budgets: [{ token: a(1), budget: 0n, maxPerTransaction: 0n, period: 0 }] }))).toBeUndefined();
  });
  it("refuses a zero target, a malformed selector and a past expiry", () => {
    expect(refusal(() => checkAgentPolicy({ ...base, calls: [{ target: zeroAddress, selector: "0xa9059cbb" }] }))).toBe("invalid_policy");
    expect(refusal(() => checkAgentPolicy({ ...base, calls: [{ target: a(1), selector: "0xa9059c" }] }))).toBe("invalid_policy");
    expect(refusal(() => checkAgentPolicy({ ...base, agentExpiresAt: 1 }))).toBe("invalid_policy");
  });
});
