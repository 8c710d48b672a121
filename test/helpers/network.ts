import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import type { Hex } from "viem";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startDevnet, type Devnet } from "../../src/chain/startDevnet.ts";
import { createLogger } from "../../src/common/logger.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { webAppRoutes } from "../../src/web/server/webAppRoutes.ts";
import type { RoutingPreferences } from "../../src/gateway/routingPreferences.ts";
import { registerModel } from "../../src/model/registerModel.ts";
import type { Price } from "../../src/payments/price.ts";
import { startProvider, type RunningProvider } from "../../src/provider/startProvider.ts";
import type { InferenceBackend } from "../../src/provider/backend.ts";
import { chatModel, type ChatModel } from "./chatModel.ts";
import { freePort } from "./ports.ts";
import { tempHome } from "./tempHome.ts";

export const UNIT = 1_000_000n; // gUSD has 6 decimals
export const DEFAULT_PRICE: Price = { pricePerMillionInput: 1_000_000n, pricePerMillionOutput: 2_000_000n };
export const quietLogger = () => createLogger({ level: (process.env.GOTONG_TEST_LOG as "debug" | undefined) ?? "warn" });

export type TestNetwork = {
  home: ReturnType<typeof tempHome>;
  devnet: Devnet;
  creator: ChainClients;
  creatorKey: Hex;
  /** Registers a model file as the creator; returns its id. */
  publish(path: string, name: string, royaltyBps?: number): Promise<bigint>;
  /** Starts a provider (own key, funded) serving `path`. */
  provider(path: string, options?: { price?: Price; modelId?: bigint; key?: Hex; port?: number; publicUrl?: string; embeddings?: boolean; contextSize?: number; backend?: InferenceBackend; parallel?: number; stallMs?: number; x402FacilitatorKey?: string }): Promise<RunningProvider & { key: Hex }>;
  /** Starts a gateway with its own funded key; `web` mounts the web app on it, as `gotong up` does. */
  gateway(options?: { key?: Hex; deposit?: bigint; channelsPerProvider?: number; offersRefreshMs?: number; seal?: boolean; routing?: RoutingPreferences; web?: boolean }): Promise<RunningGateway & { key: Hex }>;
  stop(): Promise<void>;
};

/** A devnet in a temporary GOTONG_HOME with helpers to publish models and start roles. */
export async function startTestNetwork(): Promise<TestNetwork> {
  const home = tempHome();
  const logger = quietLogger();
  const devnet = await startDevnet({ home, port: await freePort(), logger });
  const { deployment } = devnet;
  const creatorKey = generatePrivateKey();
  await fundOnDevnet(deployment, privateKeyToAccount(creatorKey).address, {});
  const creator = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(creatorKey) });
  const stops: (() => Promise<void>)[] = [];
  return {
    home,
    devnet,
    creator,
    creatorKey,
    async publish(path, name, royaltyBps = 1000) {
      const result = await registerModel(creator, deployment, { path, name, royaltyBps, manifestsDir: home.manifests });
      return result.modelId;
    },
    async provider(path, options = {}) {
      const key = options.key ?? generatePrivateKey();
      await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
      const provider = await startProvider({
        home,
        deployment,
        privateKey: key,
        modelPath: path,
        modelId: options.modelId,
        price: options.price ?? DEFAULT_PRICE,
        port: options.port ?? 0,
        publicUrl: options.publicUrl,
        contextSize: options.contextSize,
        embeddings: options.embeddings,
        backend: options.backend,
        parallel: options.parallel,
        stallMs: options.stallMs,
        x402FacilitatorKey: options.x402FacilitatorKey,
        threads: 1,
        redeemIntervalMs: 3_600_000,
        logger,
      });
      stops.push(provider.stop);
      return Object.assign(provider, { key });
    },
    async gateway(options = {}) {
      const key = options.key ?? generatePrivateKey();
      await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
      const gateway = await startGateway({ home, deployment, privateKey: key, port: 0, deposit: options.deposit, channelsPerProvider: options.channelsPerProvider, offersRefreshMs: options.offersRefreshMs, seal: options.seal, routing: options.routing, extraRoutes: options.web ? webAppRoutes : undefined, logger });
      stops.push(gateway.stop);
      return Object.assign(gateway, { key });
    },
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await devnet.stop();
      home.cleanup();
    },
  };
}

/** A test network whose creator has published the chat model. */
export type ChatNetwork = TestNetwork & { model: ChatModel; modelId: bigint };

/** `startTestNetwork` with {@link chatModel} published by the creator at the default royalty (1000 bps). */
export async function startChatNetwork(): Promise<ChatNetwork> {
  const net = await startTestNetwork();
  try {
    const model = await chatModel(net.home.models);
    return Object.assign(net, { model, modelId: await net.publish(model.path, model.name) });
  } catch (error) {
    await net.stop();
    throw error;
  }
}
