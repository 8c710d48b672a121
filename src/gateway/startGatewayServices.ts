import { join } from "node:path";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import type { GotongHome } from "../common/home.ts";
import { lockState, type StateLock } from "../common/lockState.ts";
import type { Logger } from "../common/logger.ts";
import { chainTime } from "../funding/chainTime.ts";
import { createPaymentSigner } from "../payments/createPaymentSigner.ts";
import { readChannel } from "../payments/readChannel.ts";
import { createChannelCloser, DEFAULT_AUTO_CLOSE_AFTER_SECONDS, type SweepResult } from "./createChannelCloser.ts";
import { createChannelManager, type ChannelFunder } from "./createChannelManager.ts";
import { createGatewayStore } from "./createGatewayStore.ts";
import { createPromptCounter, ggufFilesIn, type PromptCounter } from "./createPromptCounter.ts";
import { createHealthProber } from "./createHealthProber.ts";
import { createProviderHealth } from "./createProviderHealth.ts";
import { createProviderInfo } from "./createProviderInfo.ts";
import { createRouter } from "./createRouter.ts";
import { createRecordWatcher, readProviderRecord } from "./challenges/createRecordWatcher.ts";
import { startChallenges } from "./challenges/startChallenges.ts";
import { createSettler } from "./createSettler.ts";
import { createRegistryLogSource } from "./discovery/createRegistryLogSource.ts";
import { createOfferDiscovery, discoveryScope } from "./discoverOffers.ts";
import { gatewayStorePath } from "./gatewayStorePath.ts";
import { openChannelActivity } from "./readChannelActivity.ts";

/** Options of {@link startGatewayServices}: who pays, and how channels are kept. */
export type GatewayServicesOptions = {
  home: GotongHome;
  deployment: Deployment;
  privateKey: Hex;
  /** Deposit per channel and per top-up, token base units. Default 1 token. */
  deposit?: bigint;
  /**
   * Channels per provider and model: how many of this gateway's requests may run at one provider
   * for one model at once (each channel carries one at a time, with its own deposit). Default 1.
   */
  channelsPerProvider?: number;
  /** How long offers read from the chain are reused. Default 5 s. */
  offersRefreshMs?: number;
  /** The most blocks one event query spans (public RPCs cap `eth_getLogs` ranges). Default 2,000. */
  maxBlockRange?: number;
  /** How often the `/health` of every provider on offer is probed. Default 5 s. */
  healthProbeIntervalMs?: number;
  /** How long a provider may answer nothing before it is dropped from routing and listings. Default 15 s. */
  deadAfterMs?: number;
  /** How often vouchers for the latest requests are sent on their own. Default 5 s. */
  settleIntervalMs?: number;
  /**
   * Who the channels are from and how deposits are made. Default: the `privateKey` account. An
   * agent wallet passes its own (the wallet is the sender; `privateKey` is then the agent key, which
   * signs the vouchers and sends the wallet's transactions).
   */
  funder?: ChannelFunder;
  /**
   * Seconds a channel may stay idle before the gateway closes it, and withdraws the rest after the
   * challenge period (automatic refunds). Default 7 days; `null` never closes one (channels closed
   * otherwise are still withdrawn).
   */
  autoCloseAfterSeconds?: number | null;
  /** How often idle and closed channels are looked for. Default 60 s. */
  closeIntervalMs?: number;
  /**
   * GGUF files whose tokenizers count prompts exactly (receipts' input counts are held to them).
   * Default: the GGUF files in GOTONG_HOME/models. Loaded in the background; until then, and for
   * other models, the byte bound applies.
   */
  tokenizerFiles?: string[];
  /**
   * Chance that a real request a provider serves draws one challenge for the same provider and
   * model (see createChallenger), once the gateway has seen the provider for NEWCOMER_REQUESTS
   * requests. Default 0.006; 0 turns challenges off. They run only on a deployment with
   * ServingVerification and while some validator can be asked.
   */
  challengeShare?: number;
  /** The share for a provider and model's first NEWCOMER_REQUESTS requests. Default 0.05. */
  challengeShareNew?: number;
  /** Validators' base URLs to ask for verdicts, before those registered on-chain with an endpoint. */
  validators?: string[];
  /** Longest wait between a real request and the challenge it draws. Default 60 s. */
  challengeMaxDelayMs?: number;
  logger: Logger;
};

/**
 * Everything a gateway pays and routes with, written once for its two fronts: the HTTP server
 * (`startGateway`) and the agent SDK, which calls the core in-process (`createAgent`). It locks the
 * key's state (one process per gateway key and home: two would sign vouchers from the same
 * channels' database), opens the store, the channel manager, the router over the offers on-chain
 * and the exact prompt counter, and runs the settler and the channel closer on their timers.
 * The core (`createGateway`) is built on its router, channels, store, domain and prompt counts.
 *
 * @example
 * const services = await startGatewayServices({ home, deployment, privateKey, logger });
 * const { router, channels, store, domain, countPrompt } = services;
 * const gateway = createGateway({ router, channels, store, domain, countPrompt, logger, tokenDecimals: deployment.token.decimals });
 * await services.stop();
 */
export async function startGatewayServices(options: GatewayServicesOptions) {
  const address = privateKeyToAccount(options.privateKey).address;
  const lock = lockState(join(options.home.locks, `gateway-${address.toLowerCase()}.lock`), {
    what: `The gateway ${address} in ${options.home.root}`,
    hint: "use the running gateway, or start another with its own key: `gotong gateway start --key FILE`",
  });
  try {
    return openServices(options, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

function openServices(options: GatewayServicesOptions, lock: StateLock) {
  const { deployment, logger } = options;
  const account = privateKeyToAccount(options.privateKey);
  const clients = createClients({ rpcUrl: deployment.rpcUrl, rpcUrls: deployment.rpcUrls, chainId: deployment.chainId, account });
  const storePath = gatewayStorePath(options.home, account.address);
  const store = createGatewayStore(storePath);
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };
  const signer = createPaymentSigner(options.privateKey, domain);
  const channels = createChannelManager({ clients, account, deployment, store, signer, logger: logger.child("channels"), deposit: options.deposit, funder: options.funder, channelsPerPair: options.channelsPerProvider });
  const providerInfo = createProviderInfo();
  // Discovery follows the registries' events from the cursor kept in the store: a restart reads only
  // the blocks since, and each refresh only the new ones.
  const discovery = createOfferDiscovery({
    source: createRegistryLogSource(clients.public, deployment),
    store: store.discovery,
    scope: discoveryScope(deployment),
    startBlock: BigInt(deployment.startBlock ?? 0),
    maxBlockRange: options.maxBlockRange,
    logger: logger.child("discovery"),
  });
  const health = createProviderHealth({ deadAfterMs: options.deadAfterMs });
  // Providers' verification records (passed, failed, suspended), read like health, for routing.
  const servingVerification = (deployment as Deployment & { servingVerification?: Address }).servingVerification;
  const records = servingVerification
    ? createRecordWatcher({
        read: (provider) => readProviderRecord(clients.public, servingVerification, provider),
        providers: async () => (await discovery.refresh().catch(() => discovery.offers())).map((o) => o.provider),
        intervalMs: options.healthProbeIntervalMs,
        logger: logger.child("records"),
      })
    : undefined;
  records?.start();
  const router = createRouter({
    loadOffers: () => discovery.refresh(),
    refreshMs: options.offersRefreshMs,
    weightTypeOf: async (offer) => (await providerInfo.of(offer))?.weightType,
    healthOf: health.of,
    statusOf: health.statusOf,
    recordOf: records?.recordOf,
  });
  const challenges = startChallenges({
    share: options.challengeShare,
    newcomerShare: options.challengeShareNew,
    validators: options.validators,
    maxDelayMs: options.challengeMaxDelayMs,
    clients,
    deployment,
    domain,
    providerInfo,
    logger: logger.child("challenges"),
    // A report freezes the provider's stake at once; the verdict follows: read the records again soon.
    onReported: () => void records?.refreshNow().catch(() => {}),
  });
  // Liveness is probed, not assumed: a provider that vanished is dropped within a bound, not at its first failed request.
  const prober = createHealthProber({
    health,
    // Discovery's own view (each read follows the new blocks), not the router's: probing must not
    // pin the router's cached offers, which a request reads afresh once they are older than offersRefreshMs.
    offers: () => discovery.refresh().catch(() => discovery.offers()),
    intervalMs: options.healthProbeIntervalMs,
    logger: logger.child("health"),
  });
  prober.start();
  let promptCounter: PromptCounter | undefined;
  const promptCounterReady = createPromptCounter(options.tokenizerFiles ?? ggufFilesIn(options.home.models), logger.child("tokens")).then(
    (counter) => void (promptCounter = counter),
    (error) => logger.warn("exact token counting is off", { error: (error as Error).message }),
  );
  const readOnchain = (channelId: Hex) => readChannel(clients.public, deployment.paymentChannels, channelId);
  const chainNow = () => chainTime(clients.public);
  const settler = createSettler({
    store,
    channels,
    logger,
    readChannel: readOnchain,
    chainNow,
    endpointOf: async (provider) => (await router.listModels()).flatMap((m) => m.offers).find((o) => o.provider === provider)?.endpoint,
  });
  const activity = openChannelActivity(storePath);
  const settleTimer = setInterval(() => void settler.settleIdle().catch(() => {}), options.settleIntervalMs ?? 5_000);
  settleTimer.unref();
  const closer = createChannelCloser({
    store,
    channels,
    readChannel: readOnchain,
    chainNow,
    lastUsed: () => activity.lastUsed(),
    settle: () => settler.settle(),
    autoCloseAfterSeconds: options.autoCloseAfterSeconds === null ? undefined : (options.autoCloseAfterSeconds ?? DEFAULT_AUTO_CLOSE_AFTER_SECONDS),
    logger: logger.child("closer"),
  });
  let sweeping: Promise<SweepResult> | undefined;
  const sweep = () => (sweeping ??= closer.sweep().finally(() => (sweeping = undefined)));
  const closeTimer = setInterval(() => void sweep().catch(() => {}), options.closeIntervalMs ?? 60_000);
  closeTimer.unref();
  let stopped: Promise<void> | undefined;
  return {
    address: account.address,
    clients,
    store,
    domain,
    channels,
    router,
    providerInfo,
    /** The registries' events followed into offers (its cursor, what the last refresh read). */
    discovery,
    /** Probes providers' `/health` (`probeNow()` runs a round at once). */
    prober,
    /** Providers' verification records from ServingVerification (undefined on deployments without it). */
    records,
    /**
     * The challenger (undefined when challenges are off): give the core `onServed: challenges.observe`
     * and then `challenges.attach(core)`, so challenges go through the same lanes as its traffic.
     */
    challenges,
    /** Exact prompt tokens, for models whose tokenizer has loaded (the core's `countPrompt`). */
    countPrompt: (...args: Parameters<PromptCounter["countInput"]>) => promptCounter?.countInput(...args),
    /** Exact tokens of inputs to embed, likewise (the core's `countEmbeddingInput`). */
    countEmbeddingInput: (...args: Parameters<PromptCounter["countEmbeddingInput"]>) => promptCounter?.countEmbeddingInput(...args),
    /** Settles once the tokenizers for exact prompt counts are loaded. */
    promptCounterReady,
    /** The GGUF of the model with these weights, once the tokenizers have loaded; undefined when its tokenizer is not at hand. */
    tokenizerFileOf: async (weightsHash: Hex) => {
      await promptCounterReady;
      return promptCounter?.fileOf(weightsHash);
    },
    /** Sends the vouchers for the latest requests now (it also runs on its timer). */
    settle: () => settler.settle(),
    /** How many settlement vouchers have been posted to providers (for tests and diagnostics). */
    settlementsPosted: () => settler.posted(),
    /** Closes idle channels and withdraws those whose challenge period is over, now (it also runs every minute). */
    sweepChannels: sweep,
    /**
     * Stops the timers, sends the last vouchers, then closes the store and releases the lock.
     * `beforeClose` runs between the two: a front (the HTTP server) closes there, after the last
     * settle, before the store. Once only: later calls wait for the first.
     */
    stop: (beforeClose?: () => void | Promise<void>) =>
      (stopped ??= (async () => {
        clearInterval(settleTimer);
        clearInterval(closeTimer);
        await prober.stop();
        await records?.stop();
        await challenges?.stop();
        await sweeping?.catch(() => {});
        const settled = await settler.settle().catch((error) => {
          logger.warn("could not settle the last requests", { error: (error as Error).message });
          return 0;
        });
        if (settled) logger.info("settled the last requests", { channels: settled });
        try {
          await beforeClose?.();
        } finally {
          activity.close();
          store.close();
          await promptCounterReady;
          await promptCounter?.dispose();
          lock.release();
        }
      })()),
  };
}

/** What {@link startGatewayServices} gives. */
export type GatewayServices = Awaited<ReturnType<typeof startGatewayServices>>;
