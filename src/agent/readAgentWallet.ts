import { zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import { AgentWalletArtifact } from "../chain/contracts.generated.ts";

/** A token's budget in an agent wallet as it stands now (all amounts in base units). */
export type AgentBudgetStatus = {
  token: Address;
  budget: bigint;
  maxPerTransaction: bigint;
  /** Seconds (0 when the token has no budget). */
  period: number;
  /** Unix seconds when the current period started. */
  periodStart: number;
  /** Unix seconds when the next period starts and the budget resets. */
  resetsAt: number;
  spent: bigint;
  left: bigint;
};

/** An agent wallet's owner, key, state and policy. */
export type AgentWalletStatus = {
  wallet: Address;
  owner: Address;
  /** The agent key (the zero address once revoked). */
  agent: Address;
  /** Unix seconds (0: never). */
  agentExpiresAt: number;
  paused: boolean;
  revoked: boolean;
  chainId: number;
  budgets: AgentBudgetStatus[];
  calls: { target: Address; selector: Hex }[];
  signatureVerifiers: Address[];
  /** Calls whose incoming tokens are credited back to the period's budget (a channel withdrawal). */
  refundCalls: { target: Address; selector: Hex }[];
};

type RawBudget = { budget: bigint; maxPerTransaction: bigint; period: bigint; periodStart: bigint; resetsAt: bigint; spent: bigint; left: bigint };

/** Reads one token's budget from an agent wallet, as of the latest block. */
export async function readAgentBudget(client: PublicClient, wallet: Address, token: Address): Promise<AgentBudgetStatus> {
  const b = (await client.readContract({ address: wallet, abi: AgentWalletArtifact.abi, functionName: "budgetOf", args: [token] })) as RawBudget;
  return {
    token,
    budget: b.budget,
    maxPerTransaction: b.maxPerTransaction,
    period: Number(b.period),
    periodStart: Number(b.periodStart),
    resetsAt: Number(b.resetsAt),
    spent: b.spent,
    left: b.left,
  };
}

/**
 * Reads an agent wallet's owner, agent key, pause and revocation state, budgets (with what is spent
 * and left in the current period), allowed calls, signature verifiers and refund calls.
 */
export async function readAgentWallet(client: PublicClient, wallet: Address): Promise<AgentWalletStatus> {
  const w = { address: wallet, abi: AgentWalletArtifact.abi } as const;
  const [owner, agent, agentExpiresAt, paused, chainId, tokens, calls, signatureVerifiers, refundCalls] = await Promise.all([
    client.readContract({ ...w, functionName: "owner" }) as Promise<Address>,
    client.readContract({ ...w, functionName: "agent" }) as Promise<Address>,
    client.readContract({ ...w, functionName: "agentExpiresAt" }) as Promise<bigint>,
    client.readContract({ ...w, functionName: "paused" }) as Promise<boolean>,
    client.readContract({ ...w, functionName: "chainId" }) as Promise<bigint>,
    client.readContract({ ...w, functionName: "budgetTokens" }) as Promise<readonly Address[]>,
    client.readContract({ ...w, functionName: "allowedCalls" }) as Promise<readonly { target: Address; selector: Hex }[]>,
    client.readContract({ ...w, functionName: "signatureVerifiers" }) as Promise<readonly Address[]>,
    client.readContract({ ...w, functionName: "refundCalls" }) as Promise<readonly { target: Address; selector: Hex }[]>,
  ]);
  const budgets = await Promise.all(tokens.map((token) => readAgentBudget(client, wallet, token)));
  return {
    wallet,
    owner,
    agent,
    agentExpiresAt: Number(agentExpiresAt),
    paused,
    revoked: agent === zeroAddress,
    chainId: Number(chainId),
    budgets,
    calls: calls.map((c) => ({ target: c.target, selector: c.selector })),
    signatureVerifiers: [...signatureVerifiers],
    refundCalls: refundCalls.map((c) => ({ target: c.target, selector: c.selector })),
  };
}
