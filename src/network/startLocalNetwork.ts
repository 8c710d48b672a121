import { readdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { createClients, createReader } from "../chain/createClients.ts";
import { fundOnDevnet } from "../chain/fundOnDevnet.ts";
import { startDevnet } from "../chain/startDevnet.ts";
import type { GotongHome } from "../common/home.ts";
import { loadOrCreateKey } from "../common/keys.ts";
import type { Logger } from "../common/logger.ts";
import { startGateway } from "../gateway/startGateway.ts";
import { generateTestModel, TEST_MODEL_FILE_NAME } from "../model/generateTestModel.ts";
import { checkRepublishTerms } from "../model/checkRepublishTerms.ts";
import { publishModel } from "../model/publishModel.ts";
import { checkRoyaltyBps } from "../model/readMaxRoyaltyBps.ts";
import { readRegisteredModel } from "../model/readRegisteredModel.ts";
import type { Price } from "../payments/price.ts";
import { startProvider } from "../provider/startProvider.ts";
import { webAppRoutes } from "../web/server/webAppRoutes.ts";

export type LocalNetworkOptions = {
  home: GotongHome;
  /** A GGUF to serve; default the first in GOTONG_HOME/models, else a generated test model. */
  modelPath?: string;
  modelName?: string;
  chainPort?: number;
  providerPort?: number;
  gatewayPort?: number;
  threads?: number;
  /** Requests the provider decodes together; default measured once (see chooseParallel). */
  parallel?: number;
  /** Default 1 token per million input tokens, 2 per million output tokens. */
  price?: Price;
  /** Royalty the model is registered with the first time (default 1000 = 10%); a different one on a registered model is refused. */
  royaltyBps?: number;
  /** SPDX licence it is registered with the first time (default NOASSERTION); a different one on a registered model is refused. */
  license?: string;
  /** The gateway's challenge shares (see startChallenges; default 0.006 steady and 0.05 for a provider's first requests, 0 off) and the validators it asks. */
  challengeShare?: number;
  challengeShareNew?: number;
  validators?: string[];
  logger: Logger;
};

/** Test funds minted to one local account when the network started, in wei and token base units. */
export type MintedFunds = { role: string; address: Hex; ether: string; tokens: string };

/** What `gotong up` prints, and writes to GOTONG_HOME/up.json for scripts. */
export type UpInfo = {
  baseUrl: string;
  gatewayUrl: string;
  rpcUrl: string;
  chainId: number;
  contracts: { token: Hex; modelRegistry: Hex; providerRegistry: Hex; paymentChannels: Hex; fundingPool: Hex };
  account: { address: Hex; privateKey: Hex };
  provider: { url: string; address: Hex };
  creator: { address: Hex };
  model: { name: string; modelId: string; weightsHash: Hex; path: string; testModel: boolean; created: boolean; owner: Hex; royaltyBps: number; license: string | undefined };
  /** What this start minted, to whom: only on a new devnet, or for a key the chain has never seen. */
  minted: MintedFunds[];
};

/**
 * Starts a complete local Gotong network in one process: the chain (state kept in GOTONG_HOME),
 * the contracts, a published model, a provider serving it, and a gateway paying for it that also
 * serves the web app (built beforehand into dist/web/app: `npm install` or `npm run build:web`).
 */
export async function startLocalNetwork(options: LocalNetworkOptions) {
  const { home, logger } = options;
  const devnet = await startDevnet({ home, port: options.chainPort, logger: logger.child("chain") });
  const stops: (() => Promise<void>)[] = [devnet.stop];
  let stopping: Promise<void> | undefined;
  // Last started, first stopped (the chain last, after the provider's final redeem); once only.
  const stop = () =>
    (stopping ??= (async () => {
      for (const s of [...stops].reverse()) await s().catch((error) => logger.warn("stopping a service failed", { error: (error as Error).message }));
    })());
  try {
    const { deployment } = devnet;
    const unit = 10n ** BigInt(deployment.token.decimals);
    const creatorKey = loadOrCreateKey(home.keys, "creator");
    const providerKey = loadOrCreateKey(home.keys, "provider");
    const userKey = loadOrCreateKey(home.keys, "gateway");
    // Funded once, not on every start: a balance the user sees must be what their requests left.
    const minted: MintedFunds[] = [];
    for (const [role, key, amount] of [["gateway", userKey, 1_000n * unit], ["creator", creatorKey, 0n], ["provider", providerKey, 1_000n * unit]] as const) {
      const address = privateKeyToAccount(key).address;
      if (!devnet.deployed && !(await isUnseenAccount(deployment, address))) continue;
      const given = await fundOnDevnet(deployment, address, { tokens: amount });
      if (given.ether > 0n || given.tokens > 0n) minted.push({ role, address, ether: given.ether.toString(), tokens: given.tokens.toString() });
    }

    let modelPath = options.modelPath;
    let testModel = false;
    if (!modelPath) {
      const cached = readdirSync(home.models).filter((f) => f.endsWith(".gguf") && f !== TEST_MODEL_FILE_NAME).sort();
      if (cached.length > 0) modelPath = join(home.models, cached[0]!);
      else {
        modelPath = join(home.models, TEST_MODEL_FILE_NAME);
        testModel = true;
        if (!existsSync(modelPath)) {
          await generateTestModel(modelPath);
          logger.info("no model at hand: generated a small test model with random weights (gibberish output)", { path: modelPath });
        }
      }
    }
    const creator = createClients({ rpcUrl: deployment.rpcUrl, rpcUrls: deployment.rpcUrls, chainId: deployment.chainId, account: privateKeyToAccount(creatorKey) });
    if (options.royaltyBps !== undefined) await checkRoyaltyBps(creator.public, deployment, options.royaltyBps);
    const model = await publishModel(creator, deployment, {
      path: modelPath,
      name: options.modelName ?? (testModel ? "gotong-test-model" : undefined),
      royaltyBps: options.royaltyBps ?? 1000,
      license: options.license,
      manifestsDir: home.manifests,
    });
    if (model.created) logger.info("model published", { name: model.name, modelId: model.modelId });
    const registered = await readRegisteredModel(creator.public, deployment, model.modelId);
    if (!model.created) {
      checkRepublishTerms(
        { name: options.modelName, license: options.license, royaltyBps: options.royaltyBps },
        { modelId: model.modelId, name: registered.name, royaltyBps: registered.royaltyBps, license: model.manifest?.license },
      );
    }

    const provider = await startProvider({
      home,
      deployment,
      privateKey: providerKey,
      modelPath,
      modelId: model.modelId,
      price: options.price ?? { pricePerMillionInput: unit, pricePerMillionOutput: 2n * unit },
      port: options.providerPort ?? 8601,
      threads: options.threads,
      parallel: options.parallel,
      logger: logger.child("provider"),
    });
    stops.push(async () => {
      // Paid for, so redeemed: whatever the gateway settled on its way out reaches the chain.
      await provider.redeemer.redeemNow().catch((error) => logger.warn("final redeem failed", { error: (error as Error).message }));
      await provider.stop();
    });
    // The composition root mounts the web app on the gateway (the gateway itself serves none).
    const gateway = await startGateway({
      home,
      deployment,
      privateKey: userKey,
      port: options.gatewayPort ?? 8600,
      challengeShare: options.challengeShare,
      challengeShareNew: options.challengeShareNew,
      validators: options.validators,
      logger: logger.child("gateway"),
      extraRoutes: webAppRoutes,
    });
    stops.push(gateway.stop);

    const info: UpInfo = {
      baseUrl: gateway.baseUrl,
      gatewayUrl: gateway.url,
      rpcUrl: deployment.rpcUrl,
      chainId: deployment.chainId,
      contracts: {
        token: deployment.token.address,
        modelRegistry: deployment.modelRegistry,
        providerRegistry: deployment.providerRegistry,
        paymentChannels: deployment.paymentChannels,
        fundingPool: deployment.fundingPool,
      },
      account: { address: privateKeyToAccount(userKey).address, privateKey: userKey },
      provider: { url: provider.url, address: provider.address },
      creator: { address: privateKeyToAccount(creatorKey).address },
      model: {
        name: model.name,
        modelId: model.modelId.toString(),
        weightsHash: model.weightsHash,
        path: modelPath,
        testModel,
        created: model.created,
        owner: registered.owner,
        royaltyBps: registered.royaltyBps,
        license: model.manifest?.license,
      },
      minted,
    };
    writeFileSync(home.upFile, JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
    return { info, devnet, provider, gateway, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** True for an account this chain has never seen (no transaction, no coin): a key created since the devnet was. */
async function isUnseenAccount(deployment: { rpcUrl: string; chainId: number }, address: Hex): Promise<boolean> {
  const reader = createReader(deployment);
  const [nonce, balance] = await Promise.all([reader.getTransactionCount({ address }), reader.getBalance({ address })]);
  return nonce === 0 && balance === 0n;
}
