/**
 * Gotong for autonomous agents: an agent pays for inference, donates to funding rounds and pays
 * other parties from a wallet of its own, within limits its owner set on-chain and can revoke at
 * once. `import { createAgent } from "gotong/agent"`.
 */
export { createAgent, type Agent, type CreateAgentOptions, type ChatAnswer, type ChatMessage, type ModelOffer, type AgentBalance, type AgentBudget } from "./createAgent.ts";
export { createAgentWallet, agentWalletFactoryOf, type CreateAgentWalletOptions } from "./createAgentWallet.ts";
export { createAgentSpender, type AgentSpender, type AgentCall, type AgentCharge, type SpendRequest, type SpendResult } from "./createAgentSpender.ts";
export { createAgentFunder } from "./createAgentFunder.ts";
export { defaultAgentPolicy, checkAgentPolicy, selectors, type AgentPolicy, type AgentBudget as AgentBudgetPolicy, type AgentCallPermission, type AgentLimits } from "./agentPolicy.ts";
export { readAgentWallet, readAgentBudget, type AgentWalletStatus, type AgentBudgetStatus } from "./readAgentWallet.ts";
export { parsePeriod, formatPeriod, MIN_PERIOD, MAX_PERIOD } from "./parsePeriod.ts";
export { createAgentMcpServer } from "./createAgentMcpServer.ts";
export { updateAgentPolicy, revokeAgent, type AgentPolicyChanges } from "./updateAgentPolicy.ts";
export { registerAgentIdentity, bindAgentWallet, registrationDataUri } from "./registerAgentIdentity.ts";
export { readAgentConfig, writeAgentConfig, listAgentConfigs, agentsDir, type AgentConfig } from "./agentConfig.ts";
export type { RoundStatus, ProjectStatus } from "../funding/getRoundStatus.ts";
export { openAgent } from "./openAgent.ts";
export { closeAgentChannels, type AgentChannelsClosed } from "./closeAgentChannels.ts";
export { readAgentChannels, type AgentChannels } from "./readAgentChannels.ts";
export { defaultAgentDeposit } from "./defaultAgentDeposit.ts";
