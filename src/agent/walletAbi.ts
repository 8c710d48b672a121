import type { Abi } from "viem";
import { AgentReputationArtifact, AgentWalletArtifact, AgentWalletFactoryArtifact, PaymentChannelsArtifact, TestTokenArtifact } from "../chain/contracts.generated.ts";

/** The errors of the contracts an agent wallet calls, so a revert bubbled up through the wallet decodes by name. */
const calledErrors = [PaymentChannelsArtifact.abi, AgentReputationArtifact.abi, TestTokenArtifact.abi].flatMap((abi) =>
  (abi as Abi).filter((item) => item.type === "error"),
);

/**
 * The AgentWallet ABI plus the errors of what it calls (PaymentChannels, AgentReputation, ERC-20):
 * `writeAndWait` then names `OverBudget(token, amount, left)` or a channel's `OfferNotFound(...)` alike.
 */
export const agentWalletAbi = [
  ...AgentWalletArtifact.abi,
  ...calledErrors.filter((e) => !AgentWalletArtifact.abi.some((w) => w.type === "error" && w.name === (e as { name: string }).name)),
] as Abi;

/** The factory's ABI plus the wallet's errors (a wallet's `initialize` refusing a policy bubbles up through the factory). */
export const agentWalletFactoryAbi = [
  ...AgentWalletFactoryArtifact.abi,
  ...AgentWalletArtifact.abi.filter((e) => e.type === "error" && !AgentWalletFactoryArtifact.abi.some((f) => f.type === "error" && f.name === e.name)),
] as Abi;
