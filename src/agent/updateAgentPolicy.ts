import type { Address, Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { AgentWalletArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { checkAgentPolicy, type AgentBudget, type AgentCallPermission } from "./agentPolicy.ts";
import { agentWalletAbi } from "./walletAbi.ts";

/** Changes an owner can make to an agent wallet's policy; each is one transaction, in this order. */
export type AgentPolicyChanges = {
  /** Budgets to set (a budget of 0 removes the token's). */
  budgets?: AgentBudget[];
  /** Calls to allow. */
  allow?: AgentCallPermission[];
  /** Calls to disallow. */
  deny?: AgentCallPermission[];
  /** Contracts `isValidSignature` should answer (true) or stop answering (false). */
  signatureVerifiers?: { verifier: Address; allowed: boolean }[];
  /** A new agent key (the previous one is revoked) and its expiry in Unix seconds (0: never). */
  agent?: { address: Address; expiresAt?: number };
  /** Pause (true) or resume (false) the agent. */
  paused?: boolean;
};

/** Sends the owner's changes to an agent wallet; returns the transaction hashes. Only the owner may. */
export async function updateAgentPolicy(owner: ChainClients, wallet: Address, changes: AgentPolicyChanges): Promise<Hex[]> {
  checkAgentPolicy({ budgets: changes.budgets ?? [], calls: [...(changes.allow ?? []), ...(changes.deny ?? [])], signatureVerifiers: [] });
  await checkOwner(owner, wallet);
  const w = { address: wallet, abi: agentWalletAbi } as const;
  const hashes: Hex[] = [];
  const send = async (functionName: string, args: readonly unknown[] = []) => hashes.push((await writeAndWait(owner, { ...w, functionName, args })).hash);
  for (const b of changes.budgets ?? []) await send("setBudget", [b.token, b.budget, b.maxPerTransaction, BigInt(b.period)]);
  for (const c of changes.allow ?? []) await send("setCallAllowed", [c.target, c.selector, true]);
  for (const c of changes.deny ?? []) await send("setCallAllowed", [c.target, c.selector, false]);
  for (const v of changes.signatureVerifiers ?? []) await send("setSignatureVerifier", [v.verifier, v.allowed]);
  if (changes.agent) await send("setAgent", [changes.agent.address, BigInt(changes.agent.expiresAt ?? 0)]);
  if (changes.paused === true) await send("pause");
  if (changes.paused === false) await send("unpause");
  return hashes;
}

/** Revokes the agent key at once: from the next block it can neither spend nor sign. Only the owner may. */
export async function revokeAgent(owner: ChainClients, wallet: Address): Promise<Hex> {
  await checkOwner(owner, wallet);
  return (await writeAndWait(owner, { address: wallet, abi: agentWalletAbi, functionName: "revoke", args: [] })).hash;
}

/** Refuses, before any transaction, an account that is not the wallet's owner. */
async function checkOwner(owner: ChainClients, wallet: Address): Promise<void> {
  const actual = (await owner.public.readContract({ address: wallet, abi: AgentWalletArtifact.abi, functionName: "owner" }).catch(() => undefined)) as Address | undefined;
  if (!actual) throw new GotongError(`No agent wallet at ${wallet}`, { code: "wallet_not_found" });
  if (actual.toLowerCase() !== owner.account.address.toLowerCase()) {
    throw new GotongError(`${owner.account.address} is not the owner of the agent wallet ${wallet} (its owner is ${actual})`, { code: "not_owner", status: 403, hint: "Pass the owner's key with --owner-key." });
  }
}
