import { once } from "node:events";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import type { GotongHome } from "../common/home.ts";
import { startLocked } from "../common/lockState.ts";
import type { Logger } from "../common/logger.ts";
import { createChannelManager, type ChannelFunder } from "./createChannelManager.ts";
import { createPaymentSigner } from "../payments/createPaymentSigner.ts";
import { createGatewayServer } from "./createGatewayServer.ts";
import { createGatewayStore } from "./createGatewayStore.ts";
import { createRouter } from "./createRouter.ts";
import { createProviderInfo } from "./createProviderInfo.ts";
import { createProviderHealth } from "./createProviderHealth.ts";
import { createGatewayReadiness } from "./createGatewayReadiness.ts";
import type { RoutingPreferences } from "./routingPreferences.ts";
import { createSettler } from "./createSettler.ts";
import { createChannelCloser, DEFAULT_AUTO_CLOSE_AFTER_SECONDS, type SweepResult } from "./createChannelCloser.ts";
import { gatewayStorePath } from "./gatewayStorePath.ts";
import { openChannelActivity } from "./readChannelActivity.ts";
import { chainTime } from "../funding/chainTime.ts";
import { readChannel } from "../payments/readChannel.ts";
import { discoverOffers } from "./discoverOffers.ts";
import { createPromptCounter, ggufFilesIn, type PromptCounter } from "./createPromptCounter.ts";
import { createWebRoutes } from "../web/server/createWebRoutes.ts";
import { createApiKeyAuthorizer } from "./apiKeys/createApiKeyAuthorizer.ts";
import { formatUnits } from "../payments/price.ts";

export type StartGatewayOptions = {
  home: GotongHome;
  deployment: Deployment;
  privateKey: Hex;
  /** Port on `host`; 0 picks a free one. Default 8600. */
  port?: number;
  host?: string;
  /** Deposit per channel and per top-up, token base units. Default 1 token. */
  deposit?: bigint;
  /** How long offers read from the chain are reused. Default 5 s. */
  offersRefreshMs?: number;
  /** Seal every request end to end to the provider's HPKE key. Default true; false only for benchmarks. */
  seal?: boolean;
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
  /** Host names clients may use to reach the gateway besides loopback ones (DNS-rebinding guard). */
  allowedHosts?: string[];
  /**
   * Serve others: every `/v1/` and relay request needs an API key (`gotong gateway key create`),
   * each within its own budget and requests per minute, and browser apps of any origin may call it
   * (CORS). Default false: key-free, for loopback clients and this gateway's own web page only.
   */
  requireKeys?: boolean;
  /** A client that reads nothing for this long is cut and billed for what it got. Default 30 s. */
  stallMs?: number;
  /**
   * GGUF files whose tokenizers count prompts exactly (receipts' input counts are held to them).
   * Default: the GGUF files in GOTONG_HOME/models. Loaded in the background; until then, and for
   * other models, the byte bound applies.
   */
  tokenizerFiles?: string[];
  /**
   * Routing preferences for requests that set none (OpenRouter's `provider` object, see
   * parseRoutingPreferences); each field a request sets replaces the default. Default: none.
   */
  routing?: RoutingPreferences;
  logger: Logger;
};

/** Starts the user's gateway: a local OpenAI-compatible endpoint that pays providers per request. */
export async function startGateway(options: StartGatewayOptions) {
  // One process per gateway key and home: two would sign vouchers from the same channels' database.
  const address = privateKeyToAccount(options.privateKey).address;
  return startLocked(
    join(options.home.locks, `gateway-${address.toLowerCase()}.lock`),
    { what: `The gateway ${address} in ${options.home.root}`, hint: "use the running gateway, or start another with its own key: `gotong gateway start --key FILE`" },
    () => serveGateway(options),
  );
}

async function serveGateway(options: StartGatewayOptions) {
  const { deployment, logger } = options;
  const account = privateKeyToAccount(options.privateKey);
  const clients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account });
  const storePath = gatewayStorePath(options.home, account.address);
  const store = createGatewayStore(storePath);
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };
  const signer = createPaymentSigner(options.privateKey, domain);
  const channels = createChannelManager({ clients, account, deployment, store, signer, logger: logger.child("channels"), deposit: options.deposit, funder: options.funder });
  const providerInfo = createProviderInfo();
  const router = createRouter({
    loadOffers: () => discoverOffers(clients.public, deployment),
    refreshMs: options.offersRefreshMs,
    weightTypeOf: async (offer) => (await providerInfo.of(offer))?.weightType,
    healthOf: createProviderHealth().of,
  });
  const web = createWebRoutes({ home: options.home, deployment, clients, store, router, channels, logger: logger.child("web") });
  const host = options.host ?? "127.0.0.1";
  // Clients reach a gateway bound to a named address by that name; loopback names always work.
  const allowedHosts = [...(options.allowedHosts ?? []), ...(["0.0.0.0", "::"].includes(host) ? [] : [host])];
  let promptCounter: PromptCounter | undefined;
  const promptCounterReady = createPromptCounter(options.tokenizerFiles ?? ggufFilesIn(options.home.models), logger.child("tokens")).then(
    (counter) => void (promptCounter = counter),
    (error) => logger.warn("exact token counting is off", { error: (error as Error).message }),
  );
  const server = createGatewayServer({
    router,
    channels,
    store,
    domain,
    logger,
    seal: options.seal,
    fallback: web.handle,
    allowedHosts,
    stallMs: options.stallMs,
    countPrompt: (hash, input) => promptCounter?.countInput(hash, input),
    countEmbeddingInput: (hash, inputs) => promptCounter?.countEmbeddingInput(hash, inputs),
    tokenDecimals: deployment.token.decimals,
    routing: options.routing,
    providerInfo,
    readiness: createGatewayReadiness({ client: clients.public, store, router }),
    apiKeys: options.requireKeys
      ? createApiKeyAuthorizer(store.apiKeys, { formatAmount: (units) => `${formatUnits(units, deployment.token.decimals)} ${deployment.token.symbol}` })
      : undefined,
  });
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
  const settleTimer = setInterval(() => void settler.settle().catch(() => {}), options.settleIntervalMs ?? 5_000);
  settleTimer.unref();
  const activity = openChannelActivity(storePath);
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
  server.listen(options.port ?? 8600, host);
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  logger.info("gateway listening", { url: `${url}/v1`, account: account.address });
  let stopped: Promise<void> | undefined;
  return {
    url,
    baseUrl: `${url}/v1`,
    address: account.address,
    store,
    router,
    channels,
    clients,
    settle: () => settler.settle(),
    /** Settles once the tokenizers for exact prompt counts are loaded. */
    promptCounterReady,
    /** How many settlement vouchers have been posted to providers (for tests and diagnostics). */
    settlementsPosted: () => settler.posted(),
    /** Closes idle channels and withdraws those whose challenge period is over, now (it also runs every minute). */
    sweepChannels: sweep,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(settleTimer);
        clearInterval(closeTimer);
        await sweeping?.catch(() => {});
        const settled = await settler.settle().catch((error) => {
          logger.warn("could not settle the last requests", { error: (error as Error).message });
          return 0;
        });
        if (settled) logger.info("settled the last requests", { channels: settled });
        server.closeAllConnections();
        server.close();
        activity.close();
        store.close();
        await promptCounterReady;
        await promptCounter?.dispose();
      })()),
  };
}

export type RunningGateway = Awaited<ReturnType<typeof startGateway>>;
