import type { Deployment } from "../chain/deployment.ts";
import { resolveHome } from "../common/home.ts";
import { readKey } from "../common/keys.ts";
import type { Logger } from "../common/logger.ts";
import { readAgentConfig } from "./agentConfig.ts";
import { createAgent, type Agent } from "./createAgent.ts";

/**
 * Opens an agent that `gotong agent create NAME` made, from the data folder: its wallet, and its key
 * from the key file. The same as `createAgent` with those filled in.
 *
 * @example const agent = await openAgent("funder");
 */
export async function openAgent(name = "default", options: { home?: string; deployment?: Deployment | string; deposit?: bigint; logger?: Logger } = {}): Promise<Agent> {
  const home = resolveHome(options.home);
  const config = readAgentConfig(home, name);
  return createAgent({ wallet: config.wallet, agentKey: readKey(config.agentKeyFile), home, deployment: options.deployment, deposit: options.deposit, logger: options.logger });
}
