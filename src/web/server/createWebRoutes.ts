import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { erc20Abi, getAddress, isAddress, isHex, parseEventLogs, type Hex } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import { ModelRegistryArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { GotongError } from "../../common/errors.ts";
import type { GotongHome } from "../../common/home.ts";
import { parseJsonObject, readBody, sendError, sendJson } from "../../common/http.ts";
import type { Logger } from "../../common/logger.ts";
import type { ChannelManager } from "../../gateway/createChannelManager.ts";
import type { GatewayStore } from "../../gateway/createGatewayStore.ts";
import type { Router } from "../../gateway/createRouter.ts";
import { PROTOCOL_VERSION_HEADERS } from "../../protocol/protocolVersion.ts";
import { checkWalletRequest } from "./checkWalletRequest.ts";
import { createLocalWallet, localWalletUnavailable, WalletRpcError } from "./createLocalWallet.ts";
import { readExplorer } from "./readExplorer.ts";
import { readChannels } from "./readChannels.ts";
import { readEarnings } from "./readEarnings.ts";
import { readFunding } from "./readFunding.ts";
import { readLineage } from "./readLineage.ts";
import { readWithdrawable } from "./readWithdrawable.ts";
import { createTokenizerRoute } from "./createTokenizerRoute.ts";
import { chainRpcFromCookie, chainRpcOrigin, serveWebAsset, WEB_SECURITY_HEADERS } from "./serveWebAsset.ts";
import { readWebBuildState } from "./webBuildState.ts";
import { RUNNING_FROM_BUILD, WEB_DIST_DIR } from "./webPaths.ts";

/** Options of {@link createWebRoutes}. */
export type WebRoutesOptions = {
  home: GotongHome;
  deployment: Deployment;
  clients: ChainClients;
  store: GatewayStore;
  router: Router;
  channels: ChannelManager;
  logger: Logger;
  /**
   * The GGUF of the model with these weights, when the gateway has it (GatewayRouteContext's
   * `tokenizerFileOf`): the page counts a message's tokens with its vocabulary. Default: none, so
   * the page bounds tokens by bytes.
   */
  tokenizerFileOf?: (weightsHash: Hex) => Promise<string | undefined>;
  /**
   * Offer the page a wallet that signs with the gateway's own key (see `createLocalWallet`).
   * Default: only on a local devnet (chain id 31337), where that key is a test key.
   */
  localWallet?: boolean;
};

/** How long a provider's measured latency is reused. */
const LATENCY_TTL_MS = 15_000;

/**
 * The web app's side of the gateway: serves the page `npm run build:web` built (dist/web/app) at `/`
 * and the read-only JSON the page shows (explorer, a model's lineage, channels, earnings, funding, what a withdrawal
 * would pay, the token transfers of a transaction, a model's vocabulary to count tokens with), plus the local wallet on a local network.
 * A composition root (`gotong up`, `gotong gateway start --web`) mounts it on a gateway as
 * `startGateway({ extraRoutes })`; the gateway by itself serves no web app. The page is never built
 * here: a missing build is answered with a page that says to run `npm run build:web`.
 *
 * @returns `handle(req, res)`, true when it took the request
 * @example startGateway({ …, extraRoutes: (gateway) => createWebRoutes(gateway).handle })
 */
export function createWebRoutes(options: WebRoutesOptions) {
  const { deployment, clients, store, router, channels, logger } = options;
  const client = clients.public;
  const manifestsDir = options.home.manifests;
  const localWallet = (options.localWallet ?? deployment.chainId === 31337)
    ? createLocalWallet({
        clients,
        deployment,
        serially: channels.serially,
        onSent: ({ signature, data }) => {
          // Closing or withdrawing a channel the gateway pays through: it must read it again before using it.
          if (signature !== "startClose(bytes32)" && signature !== "withdraw(bytes32)") return;
          const channelId = `0x${data.slice(10, 74)}` as Hex;
          if (store.getChannel(channelId)) channels.forget(channelId);
        },
      })
    : undefined;

  // The chain RPC the page checks providers' keys through unless the person names another: the
  // gateway's own only on a local devnet (its URL is a local port; a real network's may hold an API key).
  const defaultChainRpc = deployment.chainId === 31337 ? chainRpcOrigin(deployment.rpcUrl) : undefined;

  const serveTokenizer = createTokenizerRoute(options.tokenizerFileOf ?? (async () => undefined));

  const latency = new Map<string, { at: number; ms: number | undefined }>();
  async function latencyOf(endpoint: string): Promise<number | undefined> {
    const cached = latency.get(endpoint);
    if (cached && Date.now() - cached.at < LATENCY_TTL_MS) return cached.ms;
    const started = performance.now();
    const ms = await fetch(`${endpoint}/health`, { headers: PROTOCOL_VERSION_HEADERS, signal: AbortSignal.timeout(2_000) }).then(
      (res) => (res.ok ? Math.round(performance.now() - started) : undefined),
      () => undefined,
    );
    latency.set(endpoint, { at: Date.now(), ms });
    return ms;
  }

  /**
   * A channel the gateway pays through that was closed on-chain (from the page): make it look again.
   * Earlier epochs listed as history say nothing about the one the gateway pays into now.
   */
  function syncClosed(views: Awaited<ReturnType<typeof readChannels>>) {
    for (const view of views) {
      const known = store.getChannel(view.channelId);
      if (!known || BigInt(view.epoch) < known.epoch) continue;
      if ((view.state !== "open" || known.epoch !== BigInt(view.epoch)) && known.deposit !== known.spent) channels.forget(view.channelId);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const json = (body: unknown) => sendJson(res, 200, body, { "cache-control": "no-store", "x-content-type-options": "nosniff" });
    if (path === "/gotong/web/config") {
      return json({
        chainId: deployment.chainId,
        token: deployment.token,
        contracts: {
          modelRegistry: deployment.modelRegistry,
          providerRegistry: deployment.providerRegistry,
          paymentChannels: deployment.paymentChannels,
          quadraticFunding: deployment.quadraticFunding ?? null,
        },
        challengePeriod: deployment.challengePeriod,
        gatewayAccount: clients.account.address,
        localWallet: localWallet ? { address: localWallet.address } : null,
        defaultChainRpc: defaultChainRpc ?? null,
      });
    }
    if (path === "/gotong/web/explorer") {
      return json(await readExplorer({ client, deployment, store, router, manifestsDir, latencyOf }));
    }
    if (path === "/gotong/web/lineage") {
      const modelId = url.searchParams.get("model") ?? "";
      if (!/^[1-9]\d{0,18}$/.test(modelId)) throw new GotongError("`model` must be a model id", { code: "invalid_parameter", param: "model", status: 400 });
      return json(await readLineage(client, deployment, BigInt(modelId)));
    }
    if (path === "/gotong/web/channels") {
      const account = url.searchParams.get("account") ?? clients.account.address;
      if (!isAddress(account, { strict: false })) throw new GotongError("`account` must be an address", { code: "invalid_parameter", param: "account", status: 400 });
      const views = await readChannels(client, deployment, getAddress(account), store);
      syncClosed(views);
      return json({ account: getAddress(account), data: views });
    }
    if (path === "/gotong/web/earnings") return json(await readEarnings(client, deployment));
    if (path === "/gotong/web/funding") return json(await readFunding(client, deployment));
    if (path === "/gotong/web/account") {
      const address = url.searchParams.get("address") ?? "";
      if (!isAddress(address, { strict: false })) throw new GotongError("`address` must be an address", { code: "invalid_parameter", param: "address", status: 400 });
      const balance = await client.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [getAddress(address)] });
      return json({ address: getAddress(address), balance: balance.toString() });
    }
    if (path === "/gotong/web/withdrawable") {
      const modelId = url.searchParams.get("model");
      const account = url.searchParams.get("earnings");
      const channelId = url.searchParams.get("channel");
      if (modelId !== null) {
        if (!/^[1-9]\d{0,18}$/.test(modelId)) throw new GotongError("`model` must be a model id", { code: "invalid_parameter", param: "model", status: 400 });
        const count = await client.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "modelCount" });
        if (BigInt(modelId) > count) throw new GotongError(`There is no model #${modelId}`, { code: "not_found", param: "model", status: 404 });
        return json(await readWithdrawable(client, deployment, { kind: "royalties", modelId: BigInt(modelId) }));
      }
      if (account !== null) {
        if (!isAddress(account, { strict: false })) throw new GotongError("`earnings` must be an address", { code: "invalid_parameter", param: "earnings", status: 400 });
        return json(await readWithdrawable(client, deployment, { kind: "earnings", account: getAddress(account) }));
      }
      if (channelId !== null) {
        if (!isHex(channelId) || channelId.length !== 66) throw new GotongError("`channel` must be a channel id (32 bytes of hex)", { code: "invalid_parameter", param: "channel", status: 400 });
        return json(await readWithdrawable(client, deployment, { kind: "channel", channelId }));
      }
      throw new GotongError("Say what to withdraw: `model`, `earnings` or `channel`", { code: "invalid_parameter", status: 400 });
    }
    const tokenizer = /^\/gotong\/web\/tokenizer\/(0x[0-9a-fA-F]{64})$/.exec(path);
    if (tokenizer) return serveTokenizer(req, res, tokenizer[1] as Hex);
    const tx = /^\/gotong\/web\/tx\/(0x[0-9a-fA-F]{64})$/.exec(path);
    if (tx) {
      const receipt = await client.getTransactionReceipt({ hash: tx[1] as Hex }).catch(() => undefined);
      // The token's own record of what moved: the page states these amounts, not what it expected.
      const transfers = receipt
        ? parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: receipt.logs.filter((log) => log.address.toLowerCase() === deployment.token.address.toLowerCase()) }).map((log) => ({
            from: log.args.from,
            to: log.args.to,
            amount: log.args.value.toString(),
          }))
        : [];
      return json({ hash: tx[1], status: receipt ? receipt.status : "pending", blockNumber: receipt?.blockNumber.toString() ?? null, transfers });
    }
    throw new GotongError(`No route for ${req.method} ${path}`, { code: "not_found", status: 404 });
  }

  async function walletRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!localWallet) throw localWalletUnavailable();
    checkWalletRequest(req);
    const body = parseJsonObject(await readBody(req, 64 * 1024));
    const id = typeof body.id === "number" || typeof body.id === "string" ? body.id : null;
    try {
      const result = await localWallet.request({ method: String(body.method), params: Array.isArray(body.params) ? body.params : [] });
      sendJson(res, 200, { jsonrpc: "2.0", id, result }, { "cache-control": "no-store" });
    } catch (error) {
      const code = error instanceof WalletRpcError ? error.code : -32603;
      const message = error instanceof WalletRpcError ? error.message : `The transaction failed: ${(error as Error).message}`;
      if (!(error instanceof WalletRpcError)) logger.warn("local wallet transaction failed", { error: (error as Error).message });
      sendJson(res, 200, { jsonrpc: "2.0", id, error: { code, message } }, { "cache-control": "no-store" });
    }
  }

  async function page(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!serveWebAsset(req, res, path, { chainRpc: chainRpcFromCookie(req) ?? defaultChainRpc })) {
      // The page itself missing means no build at all (an asset missing is a plain 404).
      if (!existsSync(join(WEB_DIST_DIR, "index.html"))) return notBuilt(req, res);
      res.writeHead(404, { ...WEB_SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" });
      res.end("Not found\n");
    }
  }

  // Said once, when the gateway starts, so whoever started it sees it before a browser does.
  const build = readWebBuildState();
  if (build === "missing") logger.warn(`the web app is not built: ${NOT_BUILT_HINT}`, { dir: WEB_DIST_DIR });
  if (build === "stale") logger.warn("the web app in dist/web/app was built from older sources: run `npm run build:web` to serve your changes", { dir: WEB_DIST_DIR });

  return {
    /** Takes the web app's requests, leaves the rest (the gateway's `extraRoutes`). */
    handle(req: IncomingMessage, res: ServerResponse): boolean {
      const url = new URL(req.url ?? "/", "http://gateway");
      const path = url.pathname;
      let work: Promise<void> | undefined;
      if (path === "/gotong/web/wallet" && req.method === "POST") work = walletRoute(req, res);
      else if (path.startsWith("/gotong/web/") && req.method === "GET") work = route(req, res, url);
      else if ((req.method === "GET" || req.method === "HEAD") && !path.startsWith("/v1/") && !path.startsWith("/gotong/")) work = page(req, res, path);
      if (!work) return false;
      work.catch((error) => {
        if (!(error instanceof GotongError)) logger.error("web request failed", { path, error: (error as Error).message });
        sendError(res, error);
      });
      return true;
    },
  };
}

/** What to do when dist/web/app is missing: a checkout builds it, an installed package shipped it. */
const NOT_BUILT_HINT = RUNNING_FROM_BUILD
  ? "this installation has no dist/web/app; reinstall the package (its `npm run build` bundles the web app)"
  : "run `npm run build:web` in the checkout (`npm install` runs it), then reload";

/** The page's answer while there is no build: a 503 that says how to make one, never a build at run time. */
function notBuilt(req: IncomingMessage, res: ServerResponse): void {
  const body = `<!doctype html><meta charset="utf-8"><title>Gotong: web app not built</title><h1>The web app is not built</h1><p>The gateway serves the web app from <code>${escapeHtml(WEB_DIST_DIR)}</code>, which has no build: ${escapeHtml(NOT_BUILT_HINT.replaceAll("`", ""))}.</p><p>The OpenAI-compatible API at <code>/v1</code> works without it.</p>\n`;
  res.writeHead(503, { ...WEB_SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
  res.end(req.method === "HEAD" ? undefined : body);
}

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
