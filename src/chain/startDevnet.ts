import { installBatchSettlement } from "./installBatchSettlement.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import type { GotongHome } from "../common/home.ts";
import type { Logger } from "../common/logger.ts";
import { loadOrCreateKey } from "../common/keys.ts";
import { startLocked } from "../common/lockState.ts";
import { startAnvil, type AnvilNode } from "./startAnvil.ts";
import { stopLeftoverAnvil } from "./stopLeftoverAnvil.ts";
import { createClients } from "./createClients.ts";
import { deployContracts } from "./deployContracts.ts";
import { readDeployment, writeDeployment, type Deployment } from "./deployment.ts";

/** Anvil's first well-known development account: funded with test ether on every fresh devnet. */
export const DEVNET_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" as const;

export type Devnet = { anvil: AnvilNode; deployment: Deployment; deployed: boolean; stop(): Promise<void> };

/**
 * Starts the embedded local chain with its state in `GOTONG_HOME/chain`, and deploys the contracts
 * the first time. A restart loads the saved chain and keeps balances, models, offers and channels.
 * Locks the chain for this process first (`state_locked` when another devnet runs on this home), and
 * stops an Anvil a killed predecessor left on the state file rather than adopt it.
 */
export async function startDevnet(options: { home: GotongHome; port?: number; logger?: Logger; signal?: AbortSignal }): Promise<Devnet> {
  const { home, logger } = options;
  // One chain per home: a second Anvil on the same state file would overwrite the first one's blocks.
  const anvil: AnvilNode = await startLocked(
    join(home.locks, "devnet.lock"),
    { what: `The local chain in ${home.chain}`, hint: "use the running one (its RPC URL is in chain/deployment.json), or give this one another --home" },
    async () => {
      // Holding the lock, any Anvil still on our state is an orphan of a killed devnet: stop it (it
      // saves the chain as it goes) rather than adopt a process nobody could stop.
      await stopLeftoverAnvil({ pidFile: home.anvilPidFile, stateFile: home.anvilState, logger });
      return startAnvil({ port: options.port, stateFile: home.anvilState, pidFile: home.anvilPidFile, signal: options.signal });
    },
  );
  try {
    const clients = createClients({ rpcUrl: anvil.rpcUrl, chainId: 31337, account: privateKeyToAccount(DEVNET_DEPLOYER_KEY) });
    if (existsSync(home.deployment)) {
      const saved = readDeployment(home.deployment);
      const code = await clients.public.getCode({ address: saved.paymentChannels });
      if (code && code !== "0x") {
        // The port may differ from last time: keep the file's RPC URL current.
        const deployment = { ...saved, rpcUrl: anvil.rpcUrl };
        writeDeployment(home.deployment, deployment);
        logger?.info("devnet resumed from saved state", { rpcUrl: anvil.rpcUrl, block: await clients.public.getBlockNumber() });
        return { anvil, deployment, deployed: false, stop: anvil.stop };
      }
      logger?.warn("saved deployment has no code on this chain (state file lost?); deploying again");
    }
    // The funding steward (keys/funding-pool.key) picks which round the protocol fee feeds.
    const steward = privateKeyToAccount(loadOrCreateKey(home.keys, "funding-pool")).address;
    const deployment = await deployContracts(clients, { rpcUrl: anvil.rpcUrl, steward });
    // x402 batch-settlement's contracts live at fixed addresses (their EIP-712 domain names them):
    // a devnet gets Gotong's, so its providers offer the scheme as on a network that has them.
    await installBatchSettlement(clients.public);
    writeDeployment(home.deployment, deployment);
    logger?.info("contracts deployed", { paymentChannels: deployment.paymentChannels });
    return { anvil, deployment, deployed: true, stop: anvil.stop };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
