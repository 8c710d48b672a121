import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import type { Hex } from "viem";
import { GotongError, isGotongError } from "../common/errors.ts";
import { readBody, parseJsonObject, sendError, sendJson, setServerTimeouts, startSse, DEFAULT_BODY_LIMIT, DEFAULT_STALL_MS, whenDrained } from "../common/http.ts";
import { readinessResponse, type Readiness } from "../common/createReadiness.ts";
import type { Logger } from "../common/logger.ts";
import { encodeEvent } from "../protocol/events.ts";
import { ERROR_EVENT, HEADERS, SEALED_CONTENT_TYPE, SUMMARY_EVENT } from "../protocol/wire.ts";
import { refuseCrossSiteSpending, refuseUndeclaredBody } from "./refuseCrossSiteSpending.ts";
import type { ApiKeyAuthorizer, AuthorizedKey } from "./apiKeys/createApiKeyAuthorizer.ts";
import { applyCors } from "./apiKeys/applyCors.ts";
import { keyUseOf } from "./apiKeys/keyUseOf.ts";
import { createChatSink, type RelaySink } from "./createChatSink.ts";
import { createGateway, ProviderRefusal, type Answer, type ChatStream, type Gateway, type GatewayOptions, type SealedStream } from "./core/createGateway.ts";
import { toChatRequest } from "./responses/toChatRequest.ts";
import { createResponsesWriter } from "./responses/createResponsesWriter.ts";
import { responseNotStored } from "./responses/responseNotStored.ts";
import { X402_GATEWAY_PATHS, type GatewayX402, type X402GatewayPath } from "./x402/createGatewayX402.ts";
import { X402_HEADERS } from "../protocol/x402/x402Types.ts";

/**
 * The HTTP server's options: a core to serve (`gateway`, built with the same `apiKeys` when keys
 * are required) or what to build one from, and what is HTTP's alone.
 */
export type GatewayServerOptions = (({ gateway: Gateway } & Partial<Omit<GatewayOptions, "apiKeys" | "logger">>) | ({ gateway?: undefined } & Omit<GatewayOptions, "apiKeys">)) & {
  logger: Logger;
  bodyLimit?: number;
  /** A client that reads nothing for this long is cut (its slot freed, billed for what it got). Default 30 s. */
  stallMs?: number;
  /** Host names (besides loopback ones) clients may reach the gateway by; see refuseCrossSiteSpending. */
  allowedHosts?: readonly string[];
  /** A request body must arrive within this long. Default 30 s. */
  bodyTimeoutMs?: number;
  /** Extra routes (the web app, later) tried before the API's 404. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * Require an API key on every `/v1/` and relay route (`gotong gateway start --keys`), each within
   * its budget and requests per minute, and answer CORS for browser apps of any origin. Default
   * none: a keyless gateway that refuses foreign origins.
   */
  apiKeys?: ApiKeyAuthorizer;
  /** What `GET /health` reports (see createGatewayReadiness); without it, `{ ok: true }` while the server runs. */
  readiness?: Readiness;
  /**
   * x402 for clients that pay through the gateway (`gotong gateway start --x402`, see
   * createGatewayX402): a request to `/v1/chat/completions`, `/v1/completions` or `/v1/embeddings`
   * that carries no API key (on a gateway without `apiKeys`: every one) is paid by its client with
   * x402 (`exact` or `batch-settlement`), never from this gateway's channels. Default none.
   */
  x402?: GatewayX402;
};

/** A signal that aborts when the client hangs up before its response is complete. */
function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}

/** Writes a whole answer with Gotong's headers (cost, token counts, receipt id, provider). */
function writeAnswer(sink: RelaySink, answer: Answer, extra: Record<string, string> = {}) {
  const { summary } = answer;
  sink.completion(answer.body, summary, {
    ...extra,
    [HEADERS.receiptId]: summary.receiptId,
    [HEADERS.cost]: summary.cost,
    [HEADERS.inputTokens]: String(summary.inputTokens),
    [HEADERS.outputTokens]: String(summary.outputTokens),
    [HEADERS.provider]: answer.provider,
  });
}

/**
 * Writes a stream's events as they come. The next event is asked for only once the client's socket
 * has taken the last: the core then stops reading the provider, whose socket fills, and it stops
 * generating into it.
 */
async function writeStream(sink: RelaySink, stream: ChatStream, extra: Record<string, string> = {}) {
  sink.open({ ...extra, [HEADERS.provider]: stream.provider, [HEADERS.requestId]: stream.requestId }, stream.requestId);
  for await (const event of stream.events) {
    if (event.type === "chunks") sink.events(event.raw, event.chunks);
    else if (event.type === "finished") sink.finished(event.chunk, event.summary);
    else sink.failed(event.error);
    await whenDrained(sink.res);
  }
  sink.end();
}

/** Writes a sealed stream: frames untouched, the checked receipt's summary as a clear `gotong` event. */
async function writeSealedStream(res: ServerResponse, stream: SealedStream, stallMs: number) {
  const sse = startSse(res, { [HEADERS.provider]: stream.provider, [HEADERS.requestId]: stream.requestId, [HEADERS.sealed]: "1" }, undefined, stallMs);
  try {
    for await (const event of stream.events) {
      if (event.type === "frames") sse.forward(event.raw);
      else if (event.type === "finished") sse.forward(Buffer.from(encodeEvent({ event: SUMMARY_EVENT, data: JSON.stringify(event.summary) })));
      else sse.forward(Buffer.from(encodeEvent({ event: ERROR_EVENT, data: JSON.stringify(event.error) })));
      await whenDrained(res);
    }
  } finally {
    if (!res.writableEnded) res.end();
  }
}

/** A route: a method and a path (exact, or a pattern whose groups are passed on). */
type Route = { method?: string; path: string | RegExp; handle: (req: IncomingMessage, res: ServerResponse, match: string[], url: URL) => Promise<void> | void };

/**
 * The gateway's OpenAI-compatible HTTP API: a thin adapter that maps each route to an operation of
 * the core (createGateway) and each GotongError to an HTTP status and OpenAI-style error body. What
 * is HTTP stays here: reading bodies, the spending guard (origin or API key), CORS, the shape of
 * answers (chat completions as the provider sent them, or the Responses API), SSE and backpressure.
 */
export function createGatewayServer(options: GatewayServerOptions): Server {
  const { logger } = options;
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const gateway = options.gateway ?? createGateway(options as GatewayOptions);
  // The API key each request was authorized with (see `apiKeys`), by its response.
  const requestKeys = new WeakMap<ServerResponse, AuthorizedKey>();
  /** Guards a spending route: by origin on a keyless gateway; with keys, the key is the authority. */
  const guardSpending = (req: IncomingMessage, accepted?: readonly string[]) =>
    options.apiKeys ? refuseUndeclaredBody(req, accepted) : refuseCrossSiteSpending(req, accepted, options.allowedHosts);

  /**
   * Whether the client pays this request itself, with x402: on a gateway with x402 on, a request
   * that carries no API key (without `apiKeys`, any request), since then nothing else pays it.
   */
  const paysByX402 = (req: IncomingMessage) => options.x402 !== undefined && (!options.apiKeys || req.headers.authorization === undefined);

  /** A request its client pays with x402: the gateway spends nothing, so no origin guard, only a declared body. */
  async function generateByX402(path: string, req: IncomingMessage, res: ServerResponse) {
    if (!(X402_GATEWAY_PATHS as readonly string[]).includes(path)) {
      throw new GotongError(`${path} is not paid by x402 at this gateway`, {
        code: "x402_unavailable",
        status: 400,
        hint: `Pay ${X402_GATEWAY_PATHS.join(", ")} with x402${options.apiKeys ? `, or call ${path} with an API key` : ""}.`,
      });
    }
    refuseUndeclaredBody(req);
    const raw = await readBody(req, bodyLimit, options.bodyTimeoutMs);
    const body = parseJsonObject(raw);
    const sink = createChatSink(res, stallMs);
    const signal = clientGoneSignal(res);
    const header = req.headers[X402_HEADERS.paymentSignature.toLowerCase()];
    try {
      const { completion, headers } = await options.x402!.serve({
        path: path as X402GatewayPath,
        body,
        raw,
        payment: typeof header === "string" ? header : undefined,
        origin: `http://${req.headers.host ?? "127.0.0.1"}`,
        signal,
      });
      if (completion.kind === "answer") writeAnswer(sink, completion, headers);
      else await writeStream(sink, completion, headers);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ProviderRefusal) return sink.refused(error.status, error.body);
      throw error;
    }
  }

  /** `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings` and `/v1/responses`. */
  async function generate(path: string, req: IncomingMessage, res: ServerResponse) {
    if (req.method !== "POST") throw new GotongError(`Use POST for ${path}`, { code: "method_not_allowed", status: 405 });
    if (paysByX402(req)) return generateByX402(path, req, res);
    guardSpending(req);
    let raw = await readBody(req, bodyLimit, options.bodyTimeoutMs);
    let body = parseJsonObject(raw);
    let sink = createChatSink(res, stallMs);
    if (path === "/v1/responses") {
      // The Responses API is chat completions underneath: the request is translated here and the
      // answer written back in its shape, through the same payment, receipt checks and failover.
      const request = body;
      body = toChatRequest(request);
      raw = Buffer.from(JSON.stringify(body));
      sink = createResponsesWriter(res, request, { stallMs });
      path = "/v1/chat/completions";
    }
    const call = { signal: clientGoneSignal(res), key: requestKeys.get(res) };
    try {
      if (path === "/v1/embeddings") return writeAnswer(sink, await gateway.embed({ body, raw }, call));
      const completion = await gateway.complete({ api: path === "/v1/completions" ? "completions" : "chat", body, raw }, call);
      if (completion.kind === "answer") writeAnswer(sink, completion);
      else await writeStream(sink, completion);
    } catch (error) {
      if (call.signal.aborted) return; // the client left: nobody to tell
      if (error instanceof ProviderRefusal) return sink.refused(error.status, error.body);
      throw error;
    }
  }

  /** `POST /gotong/relay/ID`: a request the web app sealed itself, relayed to the provider it was prepared for. */
  async function relaySealed(requestId: Hex, req: IncomingMessage, res: ServerResponse) {
    gateway.assertPrepared(requestId);
    guardSpending(req, [SEALED_CONTENT_TYPE]);
    const envelope = await readBody(req, bodyLimit, options.bodyTimeoutMs);
    const call = { signal: clientGoneSignal(res), key: requestKeys.get(res) };
    try {
      await writeSealedStream(res, await gateway.relaySealed(requestId, envelope, call), stallMs);
    } catch (error) {
      if (call.signal.aborted) return;
      if (error instanceof ProviderRefusal) return sendJson(res, error.status, error.body);
      throw error;
    }
  }

  const json = (of: (url: URL, res: ServerResponse) => unknown) => async (_req: IncomingMessage, res: ServerResponse, _match: string[], url: URL) =>
    sendJson(res, 200, await of(url, res));

  const routes: Route[] = [
    {
      method: "GET",
      path: "/health",
      handle: async (_req, res) => {
        if (!options.readiness) return sendJson(res, 200, { ok: true });
        const { status, body, headers } = readinessResponse(await options.readiness.check());
        sendJson(res, status, body, headers);
      },
    },
    { method: "GET", path: "/v1/models", handle: json(async () => ({ object: "list", data: await gateway.listModels() })) },
    { method: "GET", path: /^\/v1\/models\/(.+)$/, handle: async (_req, res, [id]) => sendJson(res, 200, await gateway.getModel(decodeURIComponent(id!))) },
    // With API keys, each key sees its own receipts only.
    { method: "GET", path: "/gotong/receipts", handle: json((url, res) => ({ data: gateway.listReceipts(Number(url.searchParams.get("limit") ?? 100), requestKeys.get(res)?.id) })) },
    { method: "GET", path: "/gotong/offers", handle: json(() => gateway.listOffers()) },
    {
      method: "POST",
      path: "/gotong/relay/prepare",
      handle: async (req, res) => {
        guardSpending(req);
        sendJson(res, 200, await gateway.prepareSealed(parseJsonObject(await readBody(req, 16 * 1024))));
      },
    },
    { method: "POST", path: /^\/gotong\/relay\/(0x[0-9a-f]{64})$/, handle: (req, res, [id]) => relaySealed(id as Hex, req, res) },
    ...["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"].map((path): Route => ({ path, handle: (req, res) => generate(path, req, res) })),
    {
      path: /^\/v1\/responses\/([^/]+)(\/input_items|\/cancel)?$/,
      handle: (req, res, [id]) => {
        // Gotong stores no response (nothing is logged); the Responses API's own sub-routes are not ids.
        if (id !== "input_tokens" && id !== "compact") throw responseNotStored(decodeURIComponent(id!));
        notFound(req, res);
      },
    },
  ];

  function notFound(req: IncomingMessage, res: ServerResponse) {
    if (options.fallback?.(req, res)) return;
    throw new GotongError(`No route for ${req.method} ${new URL(req.url ?? "/", "http://gateway").pathname.replace(/\/+$/, "") || "/"}`, { code: "not_found", status: 404 });
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://gateway");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (options.apiKeys) {
      // A gateway that serves others: browsers of any origin may call its API, and the key decides
      // (the web app's own routes, which show this gateway's account, stay same-origin).
      const use = keyUseOf(req.method, path);
      if ((use || path === "/health" || path === "/gotong/offers") && applyCors(req, res)) return;
      // With x402 on, a client without a key pays its own requests, and may list the models.
      const keyless = paysByX402(req) && (use?.spends || (req.method === "GET" && (path === "/v1/models" || path.startsWith("/v1/models/"))));
      if (use && !keyless) requestKeys.set(res, options.apiKeys.authorize(req, use));
    }
    for (const r of routes) {
      if (r.method && r.method !== req.method) continue;
      const match = typeof r.path === "string" ? (r.path === path ? [] : undefined) : r.path.exec(path)?.slice(1);
      if (match) return r.handle(req, res, match, url);
    }
    notFound(req, res);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error) => {
      if (!isGotongError(error)) logger.error("request failed", { error: (error as Error).message });
      sendError(res, error);
    });
  });
  setServerTimeouts(server, options.bodyTimeoutMs);
  return server;
}
