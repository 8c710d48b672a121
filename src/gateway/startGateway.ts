import { LISTEN_BACKLOG } from "../common/http.ts";
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import type { GotongHome } from "../common/home.ts";
import type { Logger } from "../common/logger.ts";
import type { ChannelManager } from "./createChannelManager.ts";
import { createGatewayServer } from "./createGatewayServer.ts";
import { createGateway } from "./core/createGateway.ts";
import type { GatewayStore } from "./createGatewayStore.ts";
import type { Router } from "./createRouter.ts";
import { createGatewayReadiness } from "./createGatewayReadiness.ts";
import type { RoutingPreferences } from "./routingPreferences.ts";
import { createApiKeyAuthorizer } from "./apiKeys/createApiKeyAuthorizer.ts";
import { formatUnits } from "../payments/price.ts";
import { startGatewayServices, type GatewayServicesOptions } from "./startGatewayServices.ts";
import { createGatewayX402 } from "./x402/createGatewayX402.ts";
import { createPaymentVerifier } from "../payments/createPaymentVerifier.ts";
import { GotongError } from "../common/errors.ts";

/** The gateway's parts a composition root builds routes of its own from (the web app: `createWebRoutes`). */
export type GatewayRouteContext = {
  home: GotongHome;
  deployment: Deployment;
  clients: ChainClients;
  store: GatewayStore;
  router: Router;
  channels: ChannelManager;
  logger: Logger;
  /** The GGUF of the model with these weights when the gateway counts its tokens (see createPromptCounter); undefined otherwise. */
  tokenizerFileOf: (weightsHash: Hex) => Promise<string | undefined>;
};

/** A request handler beside the gateway's own routes: true when it took the request. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Options of `startGateway`: those of the services it pays with (startGatewayServices), and of its HTTP front. */
export type StartGatewayOptions = GatewayServicesOptions & {
  /** Port on `host`; 0 picks a free one. Default 8600. */
  port?: number;
  host?: string;
  /** Seal every request end to end to the provider's HPKE key. Default true; false only for benchmarks. */
  seal?: boolean;
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
   * x402 for clients that pay through the gateway (`--x402`): a generation request without an API
   * key is answered 402 with the chosen provider's requirements, and one that carries an x402
   * `exact` or `batch-settlement` payment is forwarded to the provider it pays (see createGatewayX402). The gateway
   * spends nothing and opens no channel for these. Default false: unchanged.
   */
  x402?: boolean;
  /**
   * Routing preferences for requests that set none (OpenRouter's `provider` object, see
   * parseRoutingPreferences); each field a request sets replaces the default. Default: none.
   */
  routing?: RoutingPreferences;
  /**
   * Routes the gateway serves besides its own, built from its parts once they exist; asked only
   * for requests none of its own routes take. The gateway by itself serves no web app: `gotong up`
   * and `gotong gateway start --web` mount it here (`webAppRoutes`). Default: none.
   */
  extraRoutes?: (gateway: GatewayRouteContext) => ExtraRoutes;
};

/**
 * Starts the user's gateway: a local OpenAI-compatible endpoint that pays providers per request,
 * the HTTP front of the gateway's services (startGatewayServices, which also locks the key's state).
 */
export async function startGateway(options: StartGatewayOptions) {
  if (options.x402 && !options.deployment.x402Splitter) {
    throw new GotongError("This deployment has no X402Splitter, so its payments could not be split: x402 at the gateway is unavailable", {
      code: "x402_unavailable",
      hint: "Deploy with X402Splitter (`gotong deploy` does), or start the gateway without --x402.",
    });
  }
  const services = await startGatewayServices(options);
  try {
    return await serveGateway(options, services);
  } catch (error) {
    await services.stop();
    throw error;
  }
}

async function serveGateway(options: StartGatewayOptions, services: Awaited<ReturnType<typeof startGatewayServices>>) {
  const { deployment, logger } = options;
  const { clients, store, router, channels } = services;
  const extraRoutes = options.extraRoutes?.({ home: options.home, deployment, clients, store, router, channels, logger, tokenizerFileOf: services.tokenizerFileOf });
  const host = options.host ?? "127.0.0.1";
  // Clients reach a gateway bound to a named address by that name; loopback names always work.
  const allowedHosts = [...(options.allowedHosts ?? []), ...(["0.0.0.0", "::"].includes(host) ? [] : [host])];
  const apiKeys = options.requireKeys
    ? createApiKeyAuthorizer(store.apiKeys, { formatAmount: (units) => `${formatUnits(units, deployment.token.decimals)} ${deployment.token.symbol}` })
    : undefined;
  // The core is built here, not by the server, so the challenger sends through it: the same lanes,
  // channels and receipt checks as the traffic it is mixed into.
  const gateway = createGateway({
    router,
    channels,
    store,
    domain: services.domain,
    logger,
    seal: options.seal,
    countPrompt: services.countPrompt,
    countEmbeddingInput: services.countEmbeddingInput,
    tokenDecimals: deployment.token.decimals,
    routing: options.routing,
    providerInfo: services.providerInfo,
    apiKeys,
    onServed: services.challenges?.observe,
  });
  services.challenges?.attach(gateway);
  const x402 = options.x402
    ? createGatewayX402({
        router,
        client: clients.public,
        splitter: deployment.x402Splitter!,
        token: deployment.token.address,
        chainId: deployment.chainId,
        verifier: createPaymentVerifier(services.domain),
        logger: logger.child("x402"),
        providerInfo: services.providerInfo,
        seal: options.seal,
        countPrompt: services.countPrompt,
        countEmbeddingInput: services.countEmbeddingInput,
        tokenDecimals: deployment.token.decimals,
        routing: options.routing,
      })
    : undefined;
  const server = createGatewayServer({
    gateway,
    logger,
    fallback: extraRoutes,
    allowedHosts,
    stallMs: options.stallMs,
    readiness: createGatewayReadiness({ client: clients.public, store, router }),
    apiKeys,
    x402,
  });
  server.listen({ port: options.port ?? 8600, host, backlog: LISTEN_BACKLOG });
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  logger.info("gateway listening", { url: `${url}/v1`, account: services.address });
  return {
    url,
    baseUrl: `${url}/v1`,
    address: services.address,
    store,
    router,
    channels,
    clients,
    settle: services.settle,
    /** Settles once the tokenizers for exact prompt counts are loaded. */
    promptCounterReady: services.promptCounterReady,
    /** How many settlement vouchers have been posted to providers (for tests and diagnostics). */
    settlementsPosted: services.settlementsPosted,
    /** The challenger's counts and spending (undefined when challenges are off; see createChallenger). */
    challenges: services.challenges,
    /** Providers' verification records as the router last read them (undefined without ServingVerification). */
    records: services.records,
    /** Closes idle channels and withdraws those whose challenge period is over, now (it also runs every minute). */
    sweepChannels: services.sweepChannels,
    /** Sends the last vouchers, then closes the server and the store (once). */
    stop: () =>
      services.stop(() => {
        server.closeAllConnections();
        server.close();
      }),
  };
}

export type RunningGateway = Awaited<ReturnType<typeof startGateway>>;
