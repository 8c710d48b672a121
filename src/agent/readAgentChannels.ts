import { existsSync } from "node:fs";
import type { Address, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import type { GotongHome } from "../common/home.ts";
import { createGatewayStore } from "../gateway/createGatewayStore.ts";
import { gatewayStorePath } from "../gateway/gatewayStorePath.ts";
import { readGatewayChannels, type GatewayChannel } from "../gateway/readGatewayChannels.ts";

/** An agent's payment channels and what their deposits hold of its money. Amounts in base units. */
export type AgentChannels = {
  channels: GatewayChannel[];
  /**
   * Deposited and not redeemed by providers, in channels not yet withdrawn: money the wallet paid
   * out of its budget that is not spent on inference. `closeAgentChannels` brings back all of it
   * the provider does not redeem for requests already served.
   */
  locked: bigint;
  /** Of `locked`, what the agent has not spent (deposit − spent): what comes back once providers have redeemed. */
  unspent: bigint;
  /** Channels still holding a deposit (open, closing or withdrawable). */
  live: number;
};

/**
 * Reads the channels an agent's gateway (the SDK's, or `gotong mcp`'s) pays through, from the store
 * under its agent key and the chain.
 *
 * @param agentKey The agent key's address (the gateway's store is named after it).
 * @example const { locked } = await readAgentChannels(reader, deployment, home, agent);
 */
export async function readAgentChannels(client: PublicClient, deployment: Deployment, home: GotongHome, agentKey: Address): Promise<AgentChannels> {
  const path = gatewayStorePath(home, agentKey);
  if (!existsSync(path)) return { channels: [], locked: 0n, unspent: 0n, live: 0 };
  const store = createGatewayStore(path);
  try {
    const { channels } = await readGatewayChannels(client, deployment, store);
    const live = channels.filter((c) => c.state === "open" || c.state === "closing" || c.state === "withdrawable");
    return {
      channels,
      locked: live.reduce((sum, c) => sum + c.deposit - c.redeemed, 0n),
      unspent: live.reduce((sum, c) => sum + (c.deposit > c.spent ? c.deposit - c.spent : 0n), 0n),
      live: live.length,
    };
  } finally {
    store.close();
  }
}
