import { LISTEN_BACKLOG } from "../common/http.ts";
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
import { hashFile } from "../model/hashFile.ts";
import { readGgufHeader } from "../model/readGgufHeader.ts";
import { ggufWeightType } from "../model/ggufWeightType.ts";
import type { Price } from "../payments/price.ts";
import { readChannel } from "../payments/readChannel.ts";
import { createSealedTransport } from "./createSealedTransport.ts";
import { createPaymentSigner } from "../payments/createPaymentSigner.ts";
import type { InferenceBackend } from "./backend.ts";
import { chooseThreads } from "./chooseThreads.ts";
import { chooseParallel } from "./chooseParallel.ts";
import { createLlamaBackend } from "./createLlamaBackend.ts";
import { createLlamaEmbeddingBackend } from "./createLlamaEmbeddingBackend.ts";
import { createPaymentGuard } from "./createPaymentGuard.ts";
import { watchChannelChanges } from "./watchChannelChanges.ts";
import { createProviderServer } from "./createProviderServer.ts";
import { createProviderReadiness } from "./createProviderReadiness.ts";
import { createProviderStore } from "./createProviderStore.ts";
import { createRedeemer, type RedeemGasOptions } from "./createRedeemer.ts";
import { ensureProviderRegistered } from "./ensureProviderRegistered.ts";
import { pauseProviderOffers } from "./pauseProviderOffers.ts";
import { resolveRegisteredModel } from "./resolveRegisteredModel.ts";
import { checkSignedManifest } from "./checkSignedManifest.ts";
import { createExactSettlement } from "./x402/createExactSettlement.ts";
import { createX402Facilitator } from "./x402/createX402Facilitator.ts";
import { createX402Payments } from "./x402/createX402Payments.ts";
import { startBatchSettlement } from "./x402/batchSettlement/startBatchSettlement.ts";
import { createProviderMcp } from "./mcp/createProviderMcp.ts";

export type StartProviderOptions = {
  home: GotongHome;
  deployment: Deployment;
  privateKey: Hex;
  modelPath: string;
  /** Registry id the weights must match; by default the id registered for the file's hash. */
  modelId?: bigint;
  price: Price;
  /** Port on `host`; 0 picks a free one. Default 8601. */
  port?: number;
  host?: string;
  /** URL clients reach this provider at, registered on-chain. Default http://host:port. */
  publicUrl?: string;
  /** CPU threads; default measured once per model and machine (see chooseThreads). */
  threads?: number;
  contextSize?: number;
  /** Requests decoded together in one llama.cpp context (continuous batching); default measured once per model, machine and thread count (see chooseParallel). */
  parallel?: number;
  /** Stake to register with; default the registry's minimum. */
  stake?: bigint;
  redeemIntervalMs?: number;
  /** What a redeem's gas may cost: the native coin's price in payment tokens, the share of a batch it may take, the gas cap per transaction. */
  redeemGas?: RedeemGasOptions;
  /**
   * Answer requests without a voucher with x402 (402 + `PAYMENT-REQUIRED`, `exact` payments settled
   * through the deployment's X402Splitter). Default: on when the deployment has an X402Splitter.
   */
  x402?: boolean;
  /**
   * Serve the x402 facilitator (`/x402/supported`, `/x402/verify`, `/x402/settle`) for payments to
   * this provider's payees, to callers presenting this key as a Bearer token. Default: not served.
   */
  x402FacilitatorKey?: string;
  /** A backend to serve instead of embedded llama.cpp (see createUpstreamBackend). */
  backend?: InferenceBackend;
  /** Serve the model's embeddings (`/v1/embeddings`, capability "embeddings") instead of chat. Default false. */
  embeddings?: boolean;
  /** A stream whose client has read nothing for this long is cut and billed for what it took. Default 30 s. */
  stallMs?: number;
  logger: Logger;
  onProgress?: (stage: string, done: number, total: number) => void;
};

/**
 * Starts a provider: checks the weights against the registry, loads them, registers its offer
 * on-chain, serves the OpenAI-compatible API, and redeems vouchers in batches (first of all the
 * ones accepted before any crash).
 */
export async function startProvider(options: StartProviderOptions) {
  // One process per identity, locked before any state is touched: a second one would take over the
  // on-chain endpoint and lose database updates.
  const address = privateKeyToAccount(options.privateKey).address;
  return startLocked(
    join(options.home.locks, `provider-${address.toLowerCase()}.lock`),
    { what: `The provider ${address} in ${options.home.root}`, hint: "start another provider with its own key and database: `gotong provider start --name NAME`" },
    () => serveProvider(options),
  );
}

async function serveProvider(options: StartProviderOptions) {
  const { home, deployment, logger } = options;
  const header = await readGgufHeader(options.modelPath);
  const weightsHash = `0x${await hashFile(options.modelPath, { onProgress: (done: number | bigint, total: number | bigint) => options.onProgress?.("hashing", Number(done), Number(total)) })}` as Hex;
  const account = privateKeyToAccount(options.privateKey);
  const clients = createClients({ rpcUrl: deployment.rpcUrl, rpcUrls: deployment.rpcUrls, chainId: deployment.chainId, account });
  const registered = await resolveRegisteredModel(clients.public, deployment, weightsHash, options.modelId);
  logger.info("weights match the registry", { model: registered.name, modelId: registered.modelId, sha256: weightsHash.slice(2, 14), arch: header.architecture });
  await checkSignedManifest(clients.public, deployment, registered.modelId, home.manifests, logger);

  const measureThreads = () => chooseThreads({ modelPath: options.modelPath, weightsHash, cacheFile: join(home.provider, "threads.json") });
  // The measurement generates text; an embedding-only model (an encoder) cannot, and gets one thread.
  const threads = options.backend ? 0 : (options.threads ?? (await (options.embeddings ? measureThreads().catch(() => 1) : measureThreads())));
  // Requests decoded together: measured once per model, machine and thread count, like the threads;
  // an upstream server batches on its own, and embeddings keep their own default.
  const parallel = options.backend || options.embeddings || options.parallel !== undefined
    ? options.parallel
    : await chooseParallel({ modelPath: options.modelPath, weightsHash, threads, contextSize: options.contextSize ?? Math.min(header.contextLength ?? 4096, 4096), cacheFile: join(home.provider, "parallel.json") });
  const engine = { modelPath: options.modelPath, threads, contextSize: options.contextSize, parallel };
  const backend = options.backend ?? (options.embeddings ? await createLlamaEmbeddingBackend(engine) : await createLlamaBackend(engine));
  const store = createProviderStore(join(home.provider, `provider-${account.address.toLowerCase()}.db`));
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };
  const guard = createPaymentGuard({
    provider: account.address,
    domain,
    store,
    readChannel: (id) => readChannel(clients.public, deployment.paymentChannels, id),
    client: clients.public,
    channelCacheMs: channelCacheMsFor(deployment.challengePeriod),
  });
  const redeemer = createRedeemer({ clients, paymentChannels: deployment.paymentChannels, store, logger: logger.child("redeem"), intervalMs: options.redeemIntervalMs, ...options.redeemGas });
  if (deployment.chainId !== 31337 && options.redeemGas?.nativePrice === undefined) {
    logger.warn("redeem gas is not compared with what it redeems: give --native-price (the native coin's price in the payment token) so a redeem never costs more than it pays", { chainId: deployment.chainId });
  }
  const sealed = createSealedTransport({ keysDir: home.keys, chainId: deployment.chainId, provider: account.address });
  const served = { name: registered.name, modelId: registered.modelId, backend };
  const readiness = createProviderReadiness({ client: clients.public, providerRegistry: deployment.providerRegistry, provider: account.address, models: [served], store });
  // x402 needs an EIP-3009 token; a deployment without one serves vouchers only, and says so.
  const settlement = options.x402 !== false && deployment.x402Splitter
    ? await createExactSettlement(clients, deployment.x402Splitter).catch((error: Error) => {
        logger.warn("x402 is off: the payment token cannot take EIP-3009 authorizations", { error: error.message });
        return undefined;
      })
    : undefined;
  // batch-settlement joins exact where the canonical x402 contracts are on the chain.
  const x402Batch = settlement
    ? await startBatchSettlement({ clients, settlement, store, splitter: deployment.x402Splitter!, logger: logger.child("x402-batch"), redeemIntervalMs: options.redeemIntervalMs })
    : undefined;
  const x402 = settlement && createX402Payments({ settlement, store, logger: logger.child("x402"), batch: x402Batch?.payments });
  const x402Facilitator = settlement && options.x402FacilitatorKey
    ? createX402Facilitator({ settlement, modelIds: [registered.modelId], apiKey: options.x402FacilitatorKey, logger: logger.child("x402-facilitator") })
    : undefined;
  // The MCP endpoint's tools are paid by x402, so it is served when x402 is.
  const mcp = x402 && createProviderMcp({ models: [{ name: registered.name, price: options.price }], logger: logger.child("mcp") });
  const server = createProviderServer({
    x402,
    x402Facilitator,
    mcp,
    account,
    signer: createPaymentSigner(options.privateKey, domain),
    domain,
    guard,
    store,
    logger,
    sealed,
    stallMs: options.stallMs,
    // A request waits beyond the engine's slots, not beyond one: --parallel N admits N running.
    running: parallel ?? 1,
    readiness,
    models: [{ name: registered.name, modelId: registered.modelId, weightsHash, price: options.price, backend, weightType: ggufWeightType(header) }],
  });
  const host = options.host ?? "127.0.0.1";
  server.listen({ port: options.port ?? 8601, host, backlog: LISTEN_BACKLOG });
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const url = options.publicUrl ?? `http://${host}:${port}`;
  await ensureProviderRegistered(clients, deployment, {
    endpoint: url,
    hpkePublicKey: sealed.publicKey,
    stake: options.stake,
    offers: [{ modelId: registered.modelId, price: options.price, capabilities: backend.capabilities }],
    logger,
  });
  redeemer.start();
  logger.info("provider serving", { url, model: registered.name, threads, parallel: parallel ?? 1, address: account.address });
  let stopped: Promise<void> | undefined;
  // A read channel is forgotten when an event says it changed, so the cache can live long.
  const stopWatchingChannels = watchChannelChanges(clients.public, deployment.paymentChannels, (id) => guard.invalidate(id), logger.child("channels"));
  return {
    url,
    address: account.address,
    model: registered,
    weightsHash,
    threads,
    /** Requests decoded together (1 for an upstream backend, which batches on its own). */
    parallel: parallel ?? 1,
    redeemer,
    /** Whether requests without a voucher are paid with x402 (and `/mcp` is served): what its ERC-8004 registration declares as `x402Support`. */
    x402: Boolean(x402),
    /** The x402 batch-settlement redeemer, where the scheme is on. */
    x402BatchRedeemer: x402Batch?.redeemer,
    store,
    sealed,
    stop: () =>
      (stopped ??= (async () => {
        // Said on-chain first, while requests in flight finish: gateways stop routing here at their next block.
        await pauseProviderOffers(clients, deployment, { logger });
        server.closeAllConnections();
        server.close();
        stopWatchingChannels();
        await redeemer.stop();
        await x402Batch?.redeemer.stop();
        await backend.dispose();
        store.close();
      })()),
  };
}

export type RunningProvider = Awaited<ReturnType<typeof startProvider>>;

/**
 * How long the payment guard trusts a channel it read: a minute, as channel events invalidate it
 * sooner; never more than a quarter of the challenge period, so even with every event missed a
 * close is seen long before the sender can withdraw (a voucher served on a stale read still
 * redeems while the channel is closing).
 */
export function channelCacheMsFor(challengePeriodSeconds: number): number {
  return Math.max(1_000, Math.min(60_000, (challengePeriodSeconds * 1_000) / 4));
}
