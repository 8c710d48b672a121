import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { erc20Abi, type Address, type Hex, type PublicClient } from "viem";
import { createClients, type ChainClients } from "../../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../../src/chain/fundOnDevnet.ts";
import { applyToRound } from "../../../src/funding/applyToRound.ts";
import { createRound } from "../../../src/funding/createRound.ts";
import { donate } from "../../../src/funding/donate.ts";
import { fundPool } from "../../../src/funding/fundPool.ts";
import { ensureWebBuild } from "./ensureWebBuild.ts";
import { advanceTime } from "../../helpers/advanceTime.ts";
import { startChatNetwork, UNIT } from "../../helpers/network.ts";
import { freePort } from "../../helpers/ports.ts";
import { startCutProxy } from "./cutProxy.ts";

/**
 * A whole local network for the browser tests: a devnet, a published model, a provider behind a
 * recording proxy (gateway ↔ provider), a gateway behind another (browser ↔ gateway), and the built
 * web app. The browser opens `pageUrl`, so every byte it exchanges with the gateway is recorded.
 *
 * @param options.gatewayHasModel put the model's GGUF in the gateway's models folder, so the gateway
 *   counts its tokens and hands the page its vocabulary (GET /gotong/web/tokenizer/…). Default false:
 *   the page bounds tokens by bytes (unless the model was generated into that folder: no shared models).
 */
export async function startWebNetwork(options: { gatewayHasModel?: boolean } = {}) {
  await ensureWebBuild();
  const net = await startChatNetwork();
  try {
    const { model, modelId } = net;
    const providerPort = await freePort();
    const providerTap = await startCutProxy({ host: "127.0.0.1", port: providerPort });
    const provider = await net.provider(model.path, { port: providerPort, publicUrl: providerTap.url });
    const inModels = join(net.home.models, basename(model.path));
    if (options.gatewayHasModel && !existsSync(inModels)) {
      mkdirSync(net.home.models, { recursive: true });
      symlinkSync(model.path, inModels);
    }
    const gateway = await net.gateway({ offersRefreshMs: 0, web: true });
    const gatewayTap = await startCutProxy({ host: "127.0.0.1", port: Number(new URL(gateway.url).port) });
    const { deployment } = net.devnet;
    const client = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(generatePrivateKey()) }).public as PublicClient;
    const clientsOf = (key: Hex): ChainClients => createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(key) });
    return {
      net,
      deployment,
      client,
      model: { ...model, modelId },
      provider,
      providerTap,
      gateway,
      gatewayTap,
      /** The page, reached through the browser ↔ gateway proxy. */
      pageUrl: `${gatewayTap.url}/`,
      /** A token balance, in base units. */
      balanceOf: (address: Address) => client.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [address] }),
      /** Moves the chain's clock forward (and mines a block at the new time). */
      advanceTime: (seconds: number) => advanceTime(client, seconds),
      /**
       * A funding round with two projects: the published model (its creator applies) and a lab's
       * address. The lab already has two donors, the model one, so only the lab has CLR weight and
       * the model's estimated match is zero until a second donor gives to it.
       */
      async fundingRound(): Promise<{ roundId: bigint; modelProject: bigint; labProject: bigint }> {
        const creator = net.creator;
        await fundOnDevnet(deployment, creator.account.address, { tokens: 1_000n * UNIT });
        const roundId = await createRound(creator, deployment, { donateFor: 7n * 86_400n });
        const modelProject = await applyToRound(creator, deployment, { roundId, modelId });
        const labKey = generatePrivateKey();
        await fundOnDevnet(deployment, privateKeyToAccount(labKey).address, { tokens: 1n * UNIT });
        const labProject = await applyToRound(clientsOf(labKey), deployment, { roundId });
        await fundPool(creator, deployment, { roundId, amount: 100n * UNIT });
        const donors = [generatePrivateKey(), generatePrivateKey()];
        for (const key of donors) await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 100n * UNIT });
        await donate(clientsOf(donors[0]!), deployment, { roundId, projectId: labProject, amount: 4n * UNIT });
        await donate(clientsOf(donors[1]!), deployment, { roundId, projectId: labProject, amount: 9n * UNIT });
        await donate(clientsOf(donors[0]!), deployment, { roundId, projectId: modelProject, amount: 1n * UNIT });
        return { roundId, modelProject, labProject };
      },
      async stop() {
        await gatewayTap.close();
        await providerTap.close();
        await net.stop();
      },
    };
  } catch (error) {
    await net.stop();
    throw error;
  }
}

export type WebNetwork = Awaited<ReturnType<typeof startWebNetwork>>;
