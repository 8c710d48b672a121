import { isAddress, toFunctionSelector, zeroAddress, type Address, type Hex } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { GotongError } from "../common/errors.ts";
import { checkPeriod } from "./parsePeriod.ts";

/** A token's budget in an agent wallet: `budget` per `period` seconds, at most `maxPerTransaction` per transaction. */
export type AgentBudget = {
  /** The token; the zero address is the chain's native coin. */
  token: Address;
  /** Base units per period. */
  budget: bigint;
  /** Base units per transaction, in `[1, budget]`. */
  maxPerTransaction: bigint;
  /** Seconds, in `[60, 366 days]`; periods are aligned to the Unix epoch. */
  period: number;
};

/** A (target, selector) pair the agent may call. `0x00000000` is a plain native transfer. */
export type AgentCallPermission = { target: Address; selector: Hex };

/** Everything an agent wallet's owner decides. */
export type AgentPolicy = {
  budgets: AgentBudget[];
  calls: AgentCallPermission[];
  /** Contracts the wallet's ERC-1271 `isValidSignature` answers (PaymentChannels, the agent registry). */
  signatureVerifiers: Address[];
  /**
   * Calls whose incoming tokens are credited back to the period's budget (PaymentChannels'
   * `withdraw`: a channel's unspent deposit can be spent again). Absent: none.
   */
  refundCalls?: AgentCallPermission[];
  /** When the agent key expires, Unix seconds (0 or absent: never). */
  agentExpiresAt?: number;
};

/** The selectors of the functions the default policy allows. */
export const selectors = {
  transfer: toFunctionSelector("transfer(address,uint256)"),
  approve: toFunctionSelector("approve(address,uint256)"),
  open: toFunctionSelector("open(address,uint256,uint256,uint256)"),
  topUp: toFunctionSelector("topUp(bytes32,uint256)"),
  startClose: toFunctionSelector("startClose(bytes32)"),
  withdraw: toFunctionSelector("withdraw(bytes32)"),
  donate: toFunctionSelector("donate(uint256,uint256,uint256)"),
  payAgent: toFunctionSelector("payAgent(uint256,uint256,string)"),
  giveFeedback: toFunctionSelector("giveFeedback(uint256,int128,uint8,string,string,string,string,bytes32)"),
  giveFeedbackForPayment: toFunctionSelector("giveFeedbackForPayment(uint256,int128,uint8,string,string,string,string,bytes32)"),
} as const;

/** Limits for `defaultAgentPolicy`. */
export type AgentLimits = {
  /** Budget per period in the deployment's token, base units. */
  budget: bigint;
  /** Cap per transaction, base units. Default: the whole budget. */
  maxPerTransaction?: bigint;
  /** Period in seconds. Default one day. */
  period?: number;
  /** Budget per period in the native coin (wei); absent: the agent cannot send any. */
  nativeBudget?: bigint;
  /** Cap per transaction in the native coin. Default: the whole native budget. */
  nativeMaxPerTransaction?: bigint;
  /** When the agent key expires, Unix seconds. Default never. */
  agentExpiresAt?: number;
};

/**
 * The policy `gotong agent create` gives a new wallet: a budget in the deployment's token (and,
 * optionally, the native coin), and the calls the SDK makes: pay (`transfer`), channel deposits
 * (`approve` + `open`/`topUp`, `startClose`, `withdraw`), donations to funding rounds, and paying
 * and reviewing other agents, on whichever of those contracts the deployment has. Signatures are
 * vouched for to PaymentChannels (vouchers) and the agent registry (binding the wallet to an id).
 * A channel withdrawal is a refund call: the deposit it returns goes back into the period's budget.
 *
 * @example defaultAgentPolicy(deployment, { budget: 10_000_000n, period: 86_400 })
 */
export function defaultAgentPolicy(deployment: Deployment, limits: AgentLimits): AgentPolicy {
  const period = limits.period ?? 86_400;
  const token = deployment.token.address;
  const budgets: AgentBudget[] = [{ token, budget: limits.budget, maxPerTransaction: limits.maxPerTransaction ?? limits.budget, period }];
  if (limits.nativeBudget) {
    budgets.push({ token: zeroAddress, budget: limits.nativeBudget, maxPerTransaction: limits.nativeMaxPerTransaction ?? limits.nativeBudget, period });
  }
  const calls: AgentCallPermission[] = [
    { target: token, selector: selectors.transfer },
    { target: token, selector: selectors.approve },
    { target: deployment.paymentChannels, selector: selectors.open },
    { target: deployment.paymentChannels, selector: selectors.topUp },
    { target: deployment.paymentChannels, selector: selectors.startClose },
    { target: deployment.paymentChannels, selector: selectors.withdraw },
  ];
  if (deployment.quadraticFunding) calls.push({ target: deployment.quadraticFunding, selector: selectors.donate });
  if (deployment.agentReputation) {
    for (const selector of [selectors.payAgent, selectors.giveFeedback, selectors.giveFeedbackForPayment]) {
      calls.push({ target: deployment.agentReputation, selector });
    }
  }
  const signatureVerifiers = [deployment.paymentChannels, ...(deployment.agentRegistry ? [deployment.agentRegistry] : [])];
  const refundCalls: AgentCallPermission[] = [{ target: deployment.paymentChannels, selector: selectors.withdraw }];
  return { budgets, calls, signatureVerifiers, refundCalls, agentExpiresAt: limits.agentExpiresAt };
}

const MAX_UINT128 = 2n ** 128n - 1n;

/**
 * Refuses, with an error naming the problem, a policy the wallet contract would refuse: an
 * impossible period, a zero or oversized cap, a budget too large, a target that cannot be allowed.
 */
export function checkAgentPolicy(policy: AgentPolicy): void {
  for (const b of policy.budgets) {
    if (!isAddress(b.token)) throw new GotongError(`Invalid budget token "${b.token}"`, { code: "invalid_policy" });
    if (b.budget < 0n || b.budget > MAX_UINT128) {
      throw new GotongError(`The budget ${b.budget} is out of range`, { code: "invalid_policy", hint: "A budget is 0 (none) to 2^128 - 1 base units." });
    }
    if (b.budget === 0n) continue;
    checkPeriod(b.period);
    if (b.maxPerTransaction <= 0n || b.maxPerTransaction > b.budget) {
      throw new GotongError(`The cap per transaction (${b.maxPerTransaction}) must be between 1 and the budget (${b.budget})`, {
        code: "invalid_policy",
        hint: "Lower --max-per-tx, or raise --budget.",
      });
    }
  }
  for (const c of [...policy.calls, ...(policy.refundCalls ?? [])]) {
    if (!isAddress(c.target) || c.target === zeroAddress) throw new GotongError(`Invalid call target "${c.target}"`, { code: "invalid_policy" });
    if (!/^0x[0-9a-fA-F]{8}$/.test(c.selector)) throw new GotongError(`Invalid selector "${c.selector}"`, { code: "invalid_policy", hint: "A selector is 4 bytes: 0x12345678." });
  }
  if (policy.agentExpiresAt !== undefined && policy.agentExpiresAt !== 0 && policy.agentExpiresAt * 1000 <= Date.now()) {
    throw new GotongError("The agent key's expiry is in the past", { code: "invalid_policy" });
  }
}
