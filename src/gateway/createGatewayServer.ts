import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import { hexToBytes, type Hex } from "viem";
import { GotongError, isGotongError } from "../common/errors.ts";
import { readBody, parseJsonObject, sendError, sendJson, setServerTimeouts, startSse, DEFAULT_BODY_LIMIT, DEFAULT_STALL_MS, whenDrained } from "../common/http.ts";
import type { Logger } from "../common/logger.ts";
import { postUpstream, type UpstreamResponse } from "../common/postUpstream.ts";
import { createBinaryFrameReader, createRequestInfo, createStreamOpener, decodeSseFrame, sealRequest, type ResponseKeys, type StreamOpener } from "../privacy/index.ts";
import { SEALED_CONTENT_TYPE } from "../protocol/wire.ts";
import { computeCost } from "../payments/price.ts";
import { createPaymentVerifier } from "../payments/createPaymentVerifier.ts";
import { decodeReceiptHeader, receiptFromJson, type SignedReceipt } from "../protocol/receipt.ts";
import { encodeVoucherHeader, type VoucherDomain } from "../protocol/voucher.ts";
import { checkReceipt, type ReceiptBounds } from "./checkReceipt.ts";
import { createChannelLanes, type LaneRelease } from "./createChannelLanes.ts";
import { refuseCrossSiteSpending, refuseUndeclaredBody } from "./refuseCrossSiteSpending.ts";
import type { ApiKeyAuthorizer, AuthorizedKey } from "./apiKeys/createApiKeyAuthorizer.ts";
import { applyCors } from "./apiKeys/applyCors.ts";
import { keyUseOf } from "./apiKeys/keyUseOf.ts";
import type { ChannelManager } from "./createChannelManager.ts";
import type { ChannelRecord, GatewayStore, PendingRequest } from "./createGatewayStore.ts";
import type { Router } from "./createRouter.ts";
import { promptInputOfBody } from "../protocol/toolsPrompt.ts";
import { answerOutputBytes, chunkOutputBytes } from "./countOutputBytes.ts";
import type { PromptInput } from "../model/createPromptRenderer.ts";
import type { Offer } from "./discoverOffers.ts";
import { createProviderInfo, type ProviderInfo } from "./createProviderInfo.ts";
import { quantizationLevel } from "./quantizationLevel.ts";
import { requestNeeds } from "./requestNeeds.ts";
import { embeddingTerms, type EmbeddingCounter } from "./embeddingTerms.ts";
import { parseEmbeddingRequest } from "../protocol/parseEmbeddingRequest.ts";
import { mergeRoutingPreferences, parseRoutingPreferences, type RoutingPreferences } from "./routingPreferences.ts";
import { CAPABILITIES } from "../protocol/capabilities.ts";
import { createChatSink, type ChatChunk, type GotongSummary, type RelaySink } from "./createChatSink.ts";
import { toChatRequest } from "./responses/toChatRequest.ts";
import { createResponsesWriter } from "./responses/createResponsesWriter.ts";
import { responseNotStored } from "./responses/responseNotStored.ts";
import { readinessResponse, type Readiness } from "../common/createReadiness.ts";

export type GatewayServerOptions = {
  router: Router;
  channels: ChannelManager;
  store: GatewayStore;
  domain: VoucherDomain;
  logger: Logger;
  bodyLimit?: number;
  /** Time to wait for a provider's response headers before failing over. Default 30 s. */
  upstreamTimeoutMs?: number;
  /** Seal requests end to end to each provider's registered HPKE key. Default true. */
  seal?: boolean;
  /** A client that reads nothing for this long is cut (its slot freed, billed for what it got). Default 30 s. */
  stallMs?: number;
  /** Requests that may wait for a busy channel before the excess gets 429. Default 64. */
  maxWaitingPerChannel?: number;
  /** Host names (besides loopback ones) clients may reach the gateway by; see refuseCrossSiteSpending. */
  allowedHosts?: readonly string[];
  /** A request body must arrive within this long. Default 30 s. */
  bodyTimeoutMs?: number;
  /** Extra routes (the web app, later) tried before the API's 404. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Exact prompt tokens of a request, for models whose tokenizer is at hand (see createPromptCounter). */
  countPrompt?: (weightsHash: Hex, input: PromptInput) => number | undefined;
  /** Exact tokens of inputs to embed, for models whose tokenizer is at hand (see createPromptCounter). */
  countEmbeddingInput?: EmbeddingCounter;
  /**
   * Require an API key on every `/v1/` and relay route (`gotong gateway start --keys`), each within
   * its budget and requests per minute, and answer CORS for browser apps of any origin. Default
   * none: a keyless gateway that refuses foreign origins.
   */
  apiKeys?: ApiKeyAuthorizer;
  /** Decimals of the payment token: a request's `provider.max_price` is in whole tokens per million tokens. */
  tokenDecimals: number;
  /** Routing preferences for requests that do not set them (OpenRouter's `provider` object; each field a request sets replaces the default). */
  routing?: RoutingPreferences;
  /** What providers state about their models (context size, quantization), for `/v1/models`. */
  providerInfo?: ProviderInfo;
  /** What `GET /health` reports (see createGatewayReadiness); without it, `{ ok: true }` while the server runs. */
  readiness?: Readiness;
};

/** Prompt tokens a chat template may add: once per request, and per message. */
const TEMPLATE_TOKENS = 64n;
const TOKENS_PER_MESSAGE = 16n;

/**
 * The most output tokens `bytes` of text can hold: every billed token brought at least one byte of
 * text, and one more may end each choice's sequence (an end-of-text token has no text).
 */
function outputBound(bytes: number, choices = 1): bigint {
  return BigInt(bytes) + BigInt(choices);
}

/**
 * What a cut stream can be billed for at most: what its text can hold, and no more than the running
 * count the provider itself put on the last event that arrived (a provider is held to its own word;
 * the receipt may add the few tokens still in flight, see IN_FLIGHT_TOKEN_ALLOWANCE).
 */
function cutBound(bytes: number, lastCount: bigint | undefined, choices = 1): bigint {
  const held = outputBound(bytes, choices);
  return lastCount !== undefined && lastCount < held ? lastCount : held;
}

/**
 * What the gateway settles for one client request before sending it: the bounds on its bill, the
 * most it can cost (the deposit must cover it), and what copies of it that someone else delivered
 * first have cost so far (paid too, and reported with it).
 */
type RequestTerms = Omit<ReceiptBounds, "receivedOutputTokens"> & { maxCost: bigint; copiesCost: bigint; choices: number };

/** The choices a request asks for (`n`); the provider refuses any value it does not serve. */
function choicesOf(body: Record<string, unknown>): number {
  return Number.isSafeInteger(body.n) && (body.n as number) > 0 ? (body.n as number) : 1;
}

/** The output cap a request names (`max_completion_tokens` or `max_tokens`), if any. */
function askedOutputOf(body: Record<string, unknown>): number | undefined {
  const cap = Number(body.max_completion_tokens ?? body.max_tokens);
  return Number.isSafeInteger(cap) && cap > 0 ? cap : undefined;
}

/** The record of a request whose receipt has not been dealt with, bounded by its terms. */
function pendingOf(requestId: Hex, channel: ChannelRecord, terms: RequestTerms, observedOutputTokens: bigint): PendingRequest {
  return { requestId, channelId: channel.channelId, epoch: channel.epoch, observedOutputTokens, maxInputTokens: terms.maxInputTokens, maxOutputTokens: terms.maxOutputTokens };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `res` can take more (or is gone). */
/** How long a cancelled request's answer is read for before the connection is cut after all. */
const CANCEL_DRAIN_MS = 10_000;

/** Summary of a paid request, returned to the client in headers and the final SSE event. */
function gotongSummary(offer: Offer, receipt: SignedReceipt, copiesCost = 0n): GotongSummary {
  return {
    receiptId: receipt.requestId,
    // What this request cost the client: its receipt, plus any copy of it someone else delivered
    // first (paid too, see `send`), so the costs clients are told add up to what the gateway spent.
    cost: (receipt.cost + copiesCost).toString(),
    ...(copiesCost > 0n ? { replayedCost: copiesCost.toString() } : {}),
    inputTokens: Number(receipt.inputTokens),
    outputTokens: Number(receipt.outputTokens),
    provider: offer.provider,
    modelId: offer.modelId.toString(),
    weightsHash: receipt.weightsHash,
  };
}

/**
 * The error event that ends a stream after its 200 went out: the error met (a refused receipt, a
 * frame that does not open), or, without one, the provider's stream ending before its receipt.
 */
function streamError(offer: Offer, error?: unknown) {
  const known = isGotongError(error);
  return {
    error: {
      message: known ? error.message : `Provider ${offer.provider} stopped mid-stream`,
      type: "server_error",
      code: known ? error.code : "provider_stream_cut",
      param: null,
    },
  };
}

/** The `model` a request names; every route that pays needs one. */
function requireModel(body: Record<string, unknown>): string {
  if (typeof body.model !== "string" || !body.model) throw new GotongError(`"model" is required`, { code: "invalid_parameter", param: "model", status: 400 });
  return body.model;
}

/** A signal that aborts when the client hangs up before its response is complete. */
function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}

/** Thrown inside a relay attempt when the next provider should be tried. */
class TryNext extends Error {}

/**
 * The gateway's OpenAI-compatible API. For each request it picks a provider, pays through a channel
 * (a voucher for everything received before), relays the answer, and checks the provider's receipt
 * before counting its cost. If a provider is down or fails before answering, it tries the next.
 */
export function createGatewayServer(options: GatewayServerOptions): Server {
  const { router, channels, store, logger, domain } = options;
  const timeoutMs = options.upstreamTimeoutMs ?? 30_000;
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const verifier = createPaymentVerifier(domain);
  const lanes = createChannelLanes({ maxWaiting: options.maxWaitingPerChannel });
  // Each provider's context sizes, for requests whose worst case runs to the context's end.
  const providerInfo = options.providerInfo ?? createProviderInfo();
  // A provider caught overcharging before this gateway restarted stays excluded.
  for (const provider of store.refusedProviders()) router.markUntrusted(provider);
  // The API key each request was authorized with (see `apiKeys`), by its response.
  const requestKeys = new WeakMap<ServerResponse, AuthorizedKey>();
  /** Guards a spending route: by origin on a keyless gateway; with keys, the key is the authority. */
  const guardSpending = (req: IncomingMessage, accepted?: readonly string[]) =>
    options.apiKeys ? refuseUndeclaredBody(req, accepted) : refuseCrossSiteSpending(req, accepted, options.allowedHosts);

  // When each request in flight was sent, for the output tokens per second its provider delivered.
  const startedAt = new Map<Hex, number>();

  /** Checks a receipt and pays for it once; a refused one pays nothing and excludes its provider for good. */
  function accept(offer: Offer, channel: ChannelRecord, requestId: Hex, receipt: SignedReceipt | undefined, bounds: ReceiptBounds, cut = false): SignedReceipt {
    let checked: SignedReceipt;
    try {
      checked = checkReceipt(verifier, offer, receipt, { requestId, channelId: channel.channelId, bounds, cut });
    } catch (error) {
      store.deletePending(requestId);
      store.addRefusal(requestId, offer.provider, isGotongError(error) ? error.code : "receipt_refused", (error as Error).message);
      router.markUntrusted(offer.provider);
      logger.warn("receipt refused; provider excluded", { provider: offer.provider, error: (error as Error).message });
      throw error;
    }
    store.addReceipt({ receipt: checked, provider: offer.provider, modelId: offer.modelId, modelName: offer.modelName }, channel.epoch);
    const started = startedAt.get(requestId);
    if (started !== undefined && !cut && checked.outputTokens > 0n) router.observeThroughput(offer.provider, (Number(checked.outputTokens) * 1000) / Math.max(performance.now() - started, 1));
    return checked;
  }

  /**
   * Fetches the receipt of one of our requests from the provider, waiting while it still runs.
   * Undefined when the provider never served it.
   */
  async function fetchReceipt(offer: Offer, requestId: Hex, waitMs: number): Promise<SignedReceipt | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const res = await fetch(`${offer.endpoint}/gotong/receipts/${requestId}`, { signal: AbortSignal.timeout(5_000) });
      if (res.status === 404) return undefined;
      if (res.status === 202 && Date.now() < deadline) {
        await res.body?.cancel();
        await sleep(250);
        continue;
      }
      if (!res.ok) throw new Error(`receipt lookup for ${requestId} answered ${res.status}`);
      return receiptFromJson(await res.json());
    }
  }

  /**
   * Settles requests that ended before their receipts arrived (cut streams, a gateway that died).
   * Runs only while this request holds the channel's lane, so none of them is still in flight here.
   */
  async function settlePending(offer: Offer, channelId: Hex): Promise<void> {
    const channel = store.getChannel(channelId);
    if (!channel) return;
    for (const pending of store.listPending(channelId)) {
      if (pending.epoch !== channel.epoch) {
        store.deletePending(pending.requestId);
        continue;
      }
      const receipt = await fetchReceipt(offer, pending.requestId, timeoutMs);
      if (!receipt) {
        store.deletePending(pending.requestId); // never served: nothing is owed for it
        continue;
      }
      const bounds = { maxInputTokens: pending.maxInputTokens, maxOutputTokens: pending.maxOutputTokens, receivedOutputTokens: pending.observedOutputTokens };
      accept(offer, channel, pending.requestId, receipt, bounds, true);
    }
  }

  /**
   * The context size of `offer`'s model at its provider, when a request's worst case depends on it:
   * one that names no max_tokens may run until the context ends, and a sealed one hides its own.
   * A provider that cannot say is skipped like one that is down: guessing would leave the deposit
   * short of what its payment guard asks, or its receipt above the bound checked here.
   */
  async function contextSizeFor(offer: Offer, body: Record<string, unknown>, opaque: boolean): Promise<number | undefined> {
    if (!opaque && askedOutputOf(body) !== undefined) return undefined;
    try {
      return await providerInfo.contextSizeOf(offer);
    } catch (error) {
      router.markDown(offer.provider);
      throw new TryNext("context size", { cause: error });
    }
  }

  /**
   * The terms of a request, from the request alone. Its bill is bounded by the output it asked for
   * (n choices of max_tokens; without max_tokens, of what the provider's context leaves after the
   * prompt) and by the prompt's size in bytes (every token is at least one byte) plus a chat
   * template's tokens per message; a sealed request the gateway cannot read hides its max_tokens, so
   * its output is bounded by the sealed bytes that arrive and its cost by the whole context. The
   * worst case the deposit must cover counts every byte of the body as a prompt token.
   */
  function requestTerms(offer: Offer, body: Record<string, unknown>, raw: Buffer, opaque: boolean, contextSize?: number): RequestTerms {
    const inputWorst = raw.length + Number(TEMPLATE_TOKENS);
    if (opaque) {
      const maxCost = computeCost(offer.price, { inputTokens: inputWorst, outputTokens: contextSize! });
      return { maxOutputTokens: BigInt(Number.MAX_SAFE_INTEGER), maxInputTokens: BigInt(raw.length) + TEMPLATE_TOKENS, maxCost, copiesCost: 0n, choices: 1 };
    }
    const choices = choicesOf(body);
    // With the model's tokenizer at hand the prompt is counted exactly, as the provider renders it;
    // otherwise every token is at least one byte, plus a chat template's few.
    // The prompt is parsed once, as the provider will render it (function descriptions included).
    const input = promptInputOfBody(body);
    const exact = input && options.countPrompt?.(offer.weightsHash, input);
    let maxInputTokens: bigint;
    if (exact !== undefined) maxInputTokens = BigInt(exact);
    else {
      const messages = Array.isArray(body.messages) ? body.messages : undefined;
      const rendered = input ? (input.kind === "chat" ? JSON.stringify(input.messages) : input.prompt) : JSON.stringify(messages ?? body.prompt ?? "");
      maxInputTokens = BigInt(Buffer.byteLength(rendered)) + TEMPLATE_TOKENS + TOKENS_PER_MESSAGE * BigInt(messages?.length ?? 1);
    }
    // No max_tokens: each choice may run to the context's end, after at least the exact prompt.
    const perChoice = askedOutputOf(body) ?? Math.max(contextSize! - (exact ?? 0), 1);
    const maxOutput = perChoice * choices;
    const maxCost = computeCost(offer.price, { inputTokens: inputWorst, outputTokens: maxOutput });
    return { maxOutputTokens: BigInt(maxOutput), maxInputTokens, maxCost, copiesCost: 0n, choices };
  }

  async function relay(path: string, req: IncomingMessage, res: ServerResponse) {
    guardSpending(req);
    let raw = await readBody(req, options.bodyLimit ?? DEFAULT_BODY_LIMIT, options.bodyTimeoutMs);
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
    const model = requireModel(body);
    const stream = body.stream === true;
    // Routing preferences are for the gateway: read (over its defaults), then taken out of what the provider gets.
    const preferences = mergeRoutingPreferences(options.routing, parseRoutingPreferences(body.provider, { decimals: options.tokenDecimals }));
    if (body.provider !== undefined) {
      const { provider: _, ...forProvider } = body;
      body = forProvider;
      raw = Buffer.from(JSON.stringify(body));
    }
    // Only providers that declare every capability the request uses: never one that would drop it.
    // Embeddings are read here too: a malformed input is refused before anything is paid.
    const embeddings = path === "/v1/embeddings" ? parseEmbeddingRequest(body) : undefined;
    const offers = await router.route(model, { needs: embeddings ? ["embeddings"] : requestNeeds(body), preferences });
    const clientGone = clientGoneSignal(res);
    let lastError: unknown;
    let busy: unknown;
    for (const offer of offers) {
      if (clientGone.aborted) return;
      try {
        await attempt(offer, path, body, raw, stream, sink, clientGone);
        return;
      } catch (error) {
        if (clientGone.aborted) return;
        if (isGotongError(error, "too_many_requests")) {
          busy = error; // this provider's queue is full here: another provider may have room
          continue;
        }
        if (!(error instanceof TryNext)) throw error;
        lastError = error.cause;
        logger.warn("provider failed, trying the next", { provider: offer.provider, error: (error.cause as Error)?.message });
      }
    }
    if (busy && lastError === undefined) throw busy;
    // Only a closing channel stood in the way: say so (and when), not "no provider".
    if (isGotongError(lastError, "channel_closing")) throw lastError;
    throw new GotongError(`No provider of "${model}" could serve the request`, {
      code: "no_provider_available",
      status: 503,
      retryable: true,
      hint: `Last error: ${(lastError as Error)?.message ?? "unknown"}`,
      cause: lastError,
    });
  }

  /**
   * One try at one provider. `opaque` is a request the client sealed itself (the web app): the
   * gateway pays for it and relays it without being able to read it.
   */
  async function attempt(
    offer: Offer,
    path: string,
    body: Record<string, unknown>,
    raw: Buffer,
    stream: boolean,
    sink: RelaySink,
    clientGone: AbortSignal,
    opaque?: { requestId: Hex; envelope: Buffer },
  ) {
    const channelId = channels.channelIdFor(offer.provider, offer.modelId);
    const terms = path === "/v1/embeddings"
      ? embeddingTerms(offer, body, options.countEmbeddingInput)
      : requestTerms(offer, body, raw, opaque !== undefined, await contextSizeFor(offer, body, opaque !== undefined));
    let release: LaneRelease;
    try {
      // Overload is answered before any work: a full queue is a fast 429.
      release = await lanes.acquire(channelId, clientGone);
    } catch (error) {
      if (clientGone.aborted) return; // the client left while waiting: dropped, nothing sent
      throw error;
    }
    try {
      let channel: ChannelRecord;
      try {
        channel = await channels.ensureChannel(offer.provider, offer.modelId, terms.maxCost);
        await settlePending(offer, channelId);
      } catch (error) {
        // Our channel to this provider is closing: the provider is fine, another one may serve.
        if (isGotongError(error, "channel_closing")) throw new TryNext("channel closing", { cause: error });
        if (isGotongError(error) && !error.retryable && error.status < 500) throw error;
        router.markDown(offer.provider);
        throw new TryNext("channel", { cause: error });
      }
      const deadline = Date.now() + timeoutMs;
      for (let retry = 0; ; retry++) {
        if (clientGone.aborted) return;
        channel = store.getChannel(channelId)!;
        if (channel.deposit - channel.spent < terms.maxCost) {
          channel = await channels.ensureChannel(offer.provider, offer.modelId, terms.maxCost).catch((error: unknown) => {
            throw isGotongError(error, "channel_closing") ? new TryNext("channel closing", { cause: error }) : error;
          });
        }
        const outcome = await send(offer, path, channel, raw, stream, sink, clientGone, terms, opaque);
        if (outcome === "done") return;
        if (retry >= 8 || Date.now() > deadline) throw new TryNext("gave up", { cause: new Error(`provider kept answering ${outcome}`) });
      }
    } finally {
      release();
    }
  }

  /**
   * Sends one request on the channel and relays its answer. "retry" when the request should be sent
   * again (with a fresh voucher and id): the provider counted something we had not settled, the
   * deposit was topped up, or someone else delivered a copy of this request first.
   */
  async function send(
    offer: Offer,
    path: string,
    channel: ChannelRecord,
    raw: Buffer,
    stream: boolean,
    sink: RelaySink,
    clientGone: AbortSignal,
    terms: RequestTerms,
    opaque?: { requestId: Hex; envelope: Buffer },
  ): Promise<"done" | "retry"> {
    const voucher = await channels.voucherFor(channel);
    const requestId = opaque?.requestId ?? (`0x${randomBytes(32).toString("hex")}` as Hex);
    const started = performance.now();
    // End-to-end: only the provider's registered key opens the prompt; only we open the answer.
    let responseKeys: ResponseKeys | undefined;
    let payload: Buffer = opaque?.envelope ?? raw;
    if (!opaque && options.seal !== false) {
      let sealed: ReturnType<typeof sealRequest>;
      try {
        sealed = sealRequest(hexToBytes(offer.hpkePublicKey), raw, createRequestInfo({ chainId: domain.chainId, provider: offer.provider }), { aad: hexToBytes(requestId) });
      } catch (error) {
        // A provider registered with an unusable key (wrong length, a low-order point) gets nothing.
        router.markUntrusted(offer.provider);
        throw new TryNext("unusable key", { cause: error });
      }
      payload = Buffer.from(sealed.envelope);
      responseKeys = sealed.responseKeys;
    }
    // An API key's budget holds this request's worst case until its receipt settles it (or it is
    // dropped unpaid); the hold lives as long as the pending record below (see createGatewayStore).
    const key = requestKeys.get(sink.res);
    if (key) options.apiKeys!.reserve(key, requestId, terms.maxCost);
    const upstreamAbort = new AbortController();
    // The client left: ask the provider to stop and finish the answer, and read that to its end, so
    // both sides count the same tokens. Cutting the connection instead would lose what sits in the
    // socket buffers between us, counted as sent by the provider and never seen here.
    let drainTimer: NodeJS.Timeout | undefined;
    let ended = false;
    const onGone = () => {
      drainTimer = setTimeout(() => upstreamAbort.abort(new Error("the provider did not finish a cancelled request")), CANCEL_DRAIN_MS);
      void cancelUpstream(offer, requestId, () => ended || upstreamAbort.signal.aborted);
    };
    clientGone.addEventListener("abort", onGone);
    const headerTimer = setTimeout(() => upstreamAbort.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    // Until the request ends, the record says the most it can be billed: if the gateway itself dies
    // mid-request, a fair receipt still settles on the channel's next use.
    const pending = pendingOf(requestId, channel, terms, terms.maxOutputTokens);
    store.putPending(pending);
    let upstream: UpstreamResponse;
    try {
      upstream = await postUpstream(
        `${offer.endpoint}${path}`,
        {
          "content-type": responseKeys || opaque ? SEALED_CONTENT_TYPE : "application/json",
          "x-gotong-voucher": encodeVoucherHeader(voucher),
          "x-gotong-request-id": requestId,
        },
        payload,
        upstreamAbort.signal,
      );
    } catch (error) {
      clearTimeout(headerTimer);
      clientGone.removeEventListener("abort", onGone);
      // Nothing arrived; the provider may still have served it. The record stays, bounded by what
      // arrived (nothing, plus what was in flight), and is settled on the channel's next use.
      store.putPending({ ...pending, observedOutputTokens: 0n });
      if (clientGone.aborted) return "done";
      router.markDown(offer.provider);
      throw new TryNext("unreachable", { cause: error });
    }
    clearTimeout(headerTimer);
    startedAt.set(requestId, started);
    try {
      if (upstream.status !== 200) {
        const errorBody = (await upstream.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        const code = errorBody.error?.code;
        if (upstream.status === 409 && code === "request_id_reused") {
          // Someone delivered a copy of this very request first (it was sealed to the provider, so
          // they cannot read the answer). The provider served it honestly: pay its receipt, within
          // this request's own bounds, and carry on with a fresh request.
          const receipt = await fetchReceipt(offer, requestId, timeoutMs).catch(() => undefined);
          if (receipt) terms.copiesCost += accept(offer, channel, requestId, receipt, terms).cost;
          if (opaque) {
            throw new GotongError("This sealed request was delivered to the provider by someone else first", {
              code: "request_replayed",
              status: 409,
              hint: "Prepare and send it again: a new request id is used.",
            });
          }
          return "retry";
        }
        store.deletePending(requestId); // refused before it ran: the provider owes and is owed nothing for it
        if (code === "channel_closing" || code === "voucher_wrong_epoch") {
          // Closed or withdrawn behind the gateway's back (the CLI, the web app, its own closer):
          // read the channel again; a withdrawn one reopens in a fresh epoch, a closing one fails over.
          channels.forget(channel.channelId);
          return "retry";
        }
        if (upstream.status === 429 && code === "channel_busy") {
          // A request of ours from before a restart is still running there: wait for it.
          await sleep(1_000);
          await settlePending(offer, channel.channelId);
          return "retry";
        }
        if (upstream.status === 402 && (code === "voucher_below_owed" || code === "insufficient_deposit")) {
          // The provider counts something we have not settled (a receipt lost with a cut stream), or
          // the deposit ran short: settle or top up, then try again.
          if (code === "insufficient_deposit") {
            channels.forget(channel.channelId);
            await channels.ensureChannel(offer.provider, offer.modelId, terms.maxCost * 2n);
          } else {
            const before = store.getChannel(channel.channelId)?.spent;
            await settlePending(offer, channel.channelId);
            if (store.getChannel(channel.channelId)?.spent === before) {
              router.markDown(offer.provider);
              throw new TryNext("owed", { cause: new Error(errorBody.error?.message ?? "the provider counts more than this gateway owes") });
            }
          }
          return "retry";
        }
        if (upstream.status >= 500 || upstream.status === 429 || upstream.status === 402) {
          router.markDown(offer.provider);
          throw new TryNext(`status ${upstream.status}`, { cause: new Error(errorBody.error?.message ?? `provider answered ${upstream.status}`) });
        }
        // The request itself is at fault: the next provider would say the same.
        sink.refused(upstream.status, errorBody.error ? errorBody : { error: { message: `Provider answered ${upstream.status}`, type: "invalid_request_error", code: "upstream_error", param: null } });
        return "done";
      }
      router.observe(offer.provider, performance.now() - started);
      if ((responseKeys || opaque) && upstream.header("x-gotong-sealed") !== "1") {
        store.deletePending(requestId);
        router.markUntrusted(offer.provider);
        throw new GotongError(`Provider ${offer.provider} answered a sealed request in the clear`, { code: "provider_unsealed", status: 502 });
      }
      if (opaque) await relayOpaqueStream(offer, channel, requestId, upstream, sink.res, terms);
      else {
        const opener = responseKeys ? createStreamOpener(responseKeys) : undefined;
        if (stream) await relayStream(offer, channel, requestId, upstream, sink, terms, opener);
        else await relayJson(offer, channel, requestId, upstream, sink, terms, opener);
      }
      return "done";
    } finally {
      ended = true;
      startedAt.delete(requestId);
      clearTimeout(drainTimer);
      clientGone.removeEventListener("abort", onGone);
    }
  }

  /**
   * Asks the provider to stop generating a request whose client left. Until it has started there,
   * or while the answer may still be on its way, it is asked again; `done` says when to give up.
   */
  async function cancelUpstream(offer: Offer, requestId: Hex, done: () => boolean): Promise<void> {
    while (!done()) {
      const res = await fetch(`${offer.endpoint}/gotong/requests/${requestId}/cancel`, { method: "POST", signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      const answer = (await res?.json().catch(() => undefined)) as { cancelled?: boolean } | undefined;
      if (answer?.cancelled) return;
      await sleep(250);
    }
  }

  async function relayJson(offer: Offer, channel: ChannelRecord, requestId: Hex, upstream: UpstreamResponse, sink: RelaySink, terms: RequestTerms, opener?: StreamOpener) {
    let bytes = await upstream.bytes();
    if (opener) {
      const reader = createBinaryFrameReader();
      const parts = reader.push(bytes).map((frame) => opener.open(frame).plaintext);
      reader.end();
      opener.end();
      bytes = Buffer.concat(parts);
    }
    const body = JSON.parse(bytes.toString("utf8")) as Record<string, unknown> & { choices?: { message?: { content?: unknown }; text?: unknown }[] };
    const header = upstream.header("x-gotong-receipt");
    const received = outputBound(answerOutputBytes(body), terms.choices);
    const receipt = accept(offer, channel, requestId, header ? decodeReceiptHeader(header) : undefined, { ...terms, receivedOutputTokens: received });
    const summary = gotongSummary(offer, receipt, terms.copiesCost);
    sink.completion(body, summary, {
      "x-gotong-receipt-id": summary.receiptId,
      "x-gotong-cost": summary.cost,
      "x-gotong-input-tokens": String(summary.inputTokens),
      "x-gotong-output-tokens": String(summary.outputTokens),
      "x-gotong-provider": offer.provider,
    });
  }

  async function relayStream(offer: Offer, channel: ChannelRecord, requestId: Hex, upstream: UpstreamResponse, sink: RelaySink, terms: RequestTerms, opener?: StreamOpener) {
    const { res } = sink;
    sink.open({ "x-gotong-provider": offer.provider, "x-gotong-request-id": requestId }, requestId);
    let pending: Buffer = Buffer.alloc(0);
    // Counted by the gateway itself: the bytes of text passed on to the client; and the provider's
    // own running count on the last event, which a cut stream is held to as well.
    let receivedBytes = 0;
    let lastCount: bigint | undefined;
    let settled = false;
    // Complete events are passed on to the sink together (for chat, untouched in one write); each is
    // parsed to count the text it carries, and the final event holding the receipt is checked and rewritten.
    const handleEvents = async (events: Buffer) => {
      const chunks: ChatChunk[] = [];
      let receiptAt = -1;
      for (const event of events.toString("utf8").split("\n\n")) {
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data) as ChatChunk;
        receivedBytes += chunkOutputBytes(chunk);
        if (Number.isSafeInteger(chunk.gotong?.outputTokens)) lastCount = BigInt(chunk.gotong!.outputTokens as number);
        chunks.push(chunk);
        if (chunk.gotong?.receipt !== undefined) receiptAt = chunks.length - 1; // the final event
      }
      if (receiptAt < 0) {
        sink.events(events, chunks);
      } else {
        // Only the receipt's event is rewritten; the events around it go out as they came.
        const receipt = chunks[receiptAt]!;
        const at = events.lastIndexOf("data: ", events.indexOf('"receipt":'));
        const end = events.indexOf("\n\n", at) + 2;
        if (at > 0) sink.events(events.subarray(0, at), chunks.slice(0, receiptAt));
        settled = true; // accepted or refused, this request's receipt has been dealt with
        const checked = accept(offer, channel, requestId, receiptFromJson(receipt.gotong!.receipt), { ...terms, receivedOutputTokens: outputBound(receivedBytes, terms.choices) });
        const summary = gotongSummary(offer, checked, terms.copiesCost);
        receipt.gotong = summary;
        sink.finished(receipt, summary);
        if (end < events.length) sink.events(events.subarray(end), chunks.slice(receiptAt + 1));
      }
      // The client reads slower than the provider writes: stop reading the provider until it catches
      // up, so the provider's socket fills and it stops generating into it.
      await whenDrained(res);
    };
    const handleComplete = async (complete: Buffer) => {
      // [DONE] is ours to send once the receipt has been checked.
      const done = complete.lastIndexOf("data: [DONE]\n\n");
      await handleEvents(done >= 0 ? complete.subarray(0, done) : complete);
    };
    try {
      // Read to the end even after the client left (the provider was asked to stop): the receipt
      // comes last, and every token before it is counted here as it is by the provider.
      for await (const bytes of upstream.body) {
        pending = pending.length ? Buffer.concat([pending, bytes]) : bytes;
        const cut = pending.lastIndexOf("\n\n");
        if (cut < 0) continue;
        const complete = pending.subarray(0, cut + 2);
        pending = pending.subarray(cut + 2);
        if (!opener) {
          await handleComplete(complete);
          continue;
        }
        // Sealed: each SSE event carries one frame holding a batch of plain events (the clear
        // receipt trailer is for relays that cannot open frames; we read the sealed one).
        for (const event of complete.toString("latin1").split("\n\n")) {
          if (event.startsWith("event:")) continue;
          const data = event.indexOf("data:");
          if (data < 0) continue;
          await handleComplete(Buffer.from(opener.open(decodeSseFrame(event.slice(data + 5))).plaintext));
        }
      }
      if (opener && !opener.finished && !settled && !res.destroyed) opener.end(); // a sealed stream cut short is refused as truncated
      if (!settled && !res.destroyed) sink.failed(streamError(offer));
      sink.end();
    } catch (error) {
      if (res.destroyed) return;
      sink.failed(streamError(offer, error));
      sink.end();
    } finally {
      // A cut stream: remember exactly how much arrived, so its receipt can be checked later.
      if (!settled) store.putPending(pendingOf(requestId, channel, terms, cutBound(receivedBytes, lastCount, terms.choices)));
    }
  }

  /**
   * Relays a stream the gateway cannot read: sealed frames pass through untouched, while the clear
   * receipt trailer lets it check the bill before paying. What it can count itself is the size of
   * the sealed frames: no more text than that arrived.
   */
  async function relayOpaqueStream(offer: Offer, channel: ChannelRecord, requestId: Hex, upstream: UpstreamResponse, res: ServerResponse, terms: RequestTerms) {
    const sse = startSse(res, { "x-gotong-provider": offer.provider, "x-gotong-request-id": requestId, "x-gotong-sealed": "1" }, undefined, stallMs);
    let pending = "";
    let receivedBytes = 0;
    let lastCount: bigint | undefined; // the provider's clear running count (`id:`) on the last frame
    let settled = false;
    try {
      for await (const bytes of upstream.body) {
        pending += (bytes as Buffer).toString("latin1");
        const cut = pending.lastIndexOf("\n\n");
        if (cut < 0) continue;
        const complete = pending.slice(0, cut + 2);
        pending = pending.slice(cut + 2);
        let passOn = "";
        for (const event of complete.split("\n\n")) {
          if (!event) continue;
          if (event.startsWith("event: receipt")) {
            settled = true;
            const json = event.slice(event.indexOf("data:") + 5).trim();
            const receipt = accept(offer, channel, requestId, receiptFromJson(JSON.parse(json)), { ...terms, receivedOutputTokens: outputBound(receivedBytes) });
            passOn += `event: gotong\ndata: ${JSON.stringify(gotongSummary(offer, receipt, terms.copiesCost))}\n\n`;
            continue;
          }
          const data = event.indexOf("data:");
          if (data >= 0 && !event.startsWith("event:")) receivedBytes += event.length - data - 5;
          const id = /^id: (\d+)$/m.exec(event);
          if (id) lastCount = BigInt(id[1]!);
          passOn += event + "\n\n";
        }
        if (passOn) sse.forward(Buffer.from(passOn, "latin1"));
        await whenDrained(res);
      }
      if (!settled && !res.destroyed) sse.forward(Buffer.from(`event: error\ndata: ${JSON.stringify(streamError(offer))}\n\n`));
    } catch (error) {
      if (!res.destroyed) sse.forward(Buffer.from(`event: error\ndata: ${JSON.stringify(streamError(offer, error))}\n\n`));
    } finally {
      if (!settled) store.putPending(pendingOf(requestId, channel, terms, cutBound(receivedBytes, lastCount)));
      if (!res.writableEnded) res.end();
    }
  }

  /** Requests prepared for the web app: the provider is fixed once the browser has sealed to its key. */
  const prepared = new Map<Hex, { offer: Offer; expires: number }>();

  async function prepareRelay(req: IncomingMessage, res: ServerResponse) {
    guardSpending(req);
    const model = requireModel(parseJsonObject(await readBody(req, 16 * 1024)));
    const offer = (await router.route(model, { needs: ["chat"] }))[0]!;
    const requestId = `0x${randomBytes(32).toString("hex")}` as Hex;
    const now = Date.now();
    for (const [id, p] of prepared) if (p.expires < now) prepared.delete(id);
    prepared.set(requestId, { offer, expires: now + 5 * 60_000 });
    sendJson(res, 200, { requestId, provider: offer.provider, hpkePublicKey: offer.hpkePublicKey, chainId: domain.chainId, modelId: offer.modelId.toString() });
  }

  async function relaySealed(requestId: Hex, req: IncomingMessage, res: ServerResponse) {
    const entry = prepared.get(requestId);
    if (!entry || entry.expires < Date.now()) throw new GotongError(`No prepared request ${requestId}`, { code: "relay_not_prepared", status: 404, hint: "POST /gotong/relay/prepare first, then seal to the provider it names." });
    guardSpending(req, [SEALED_CONTENT_TYPE]);
    prepared.delete(requestId);
    const envelope = await readBody(req, options.bodyLimit ?? DEFAULT_BODY_LIMIT, options.bodyTimeoutMs);
    const clientGone = clientGoneSignal(res);
    try {
      await attempt(entry.offer, "/v1/chat/completions", {}, envelope, true, createChatSink(res, stallMs), clientGone, { requestId, envelope });
    } catch (error) {
      if (error instanceof TryNext) {
        throw new GotongError(`Provider ${entry.offer.provider} could not take the request`, { code: "provider_unavailable", status: 503, retryable: true, hint: "Prepare again: another provider may be chosen.", cause: error.cause });
      }
      throw error;
    }
  }

  /**
   * A model on offer in the OpenAI shape, with OpenRouter's `context_length` (the largest context a
   * live provider states it serves, null when none says) and what Gotong adds: its registry id,
   * weights, the number of live providers, what they can do together (`capabilities`, `sealed`),
   * the lowest prices among them, and each offer in detail.
   */
  async function modelObject(m: Awaited<ReturnType<Router["listModels"]>>[number]) {
    const live = m.offers.filter((o) => router.isLive(o.provider));
    const priced = live.length ? live : m.offers;
    const lowest = (of: (o: Offer) => bigint) => priced.map(of).reduce((a, b) => (a < b ? a : b)).toString();
    const sealedTo = (o: Offer) => options.seal !== false && /^0x(?!0+$)[0-9a-fA-F]{64}$/.test(o.hpkePublicKey);
    const stated = await Promise.all(m.offers.map((o) => providerInfo.of(o)));
    const contexts = m.offers.flatMap((o, i) => (router.isLive(o.provider) && stated[i]?.contextSize !== undefined ? [stated[i]!.contextSize!] : []));
    return {
      id: m.name,
      object: "model",
      created: 0,
      owned_by: "gotong",
      context_length: contexts.length ? Math.max(...contexts) : null,
      gotong: {
        modelId: m.offers[0]!.modelId.toString(),
        weightsHash: m.offers[0]!.weightsHash,
        providers: live.length,
        capabilities: CAPABILITIES.filter((c) => live.some((o) => o.capabilities.includes(c))),
        sealed: live.length > 0 && live.every(sealedTo),
        pricePerMillionInput: lowest((o) => o.price.pricePerMillionInput),
        pricePerMillionOutput: lowest((o) => o.price.pricePerMillionOutput),
        offers: m.offers.map((o, i) => ({
          provider: o.provider,
          live: router.isLive(o.provider),
          capabilities: o.capabilities,
          sealed: sealedTo(o),
          pricePerMillionInput: o.price.pricePerMillionInput.toString(),
          pricePerMillionOutput: o.price.pricePerMillionOutput.toString(),
          contextLength: stated[i]?.contextSize ?? null,
          quantization: quantizationLevel(stated[i]?.weightType) ?? (stated[i]?.weightType ? null : "unknown"),
          weightType: stated[i]?.weightType ?? null,
          engine: stated[i]?.engine ?? null,
          latencyMs: router.measured(o.provider).latencyMs ?? null,
          tokensPerSecond: router.measured(o.provider).tokensPerSecond ?? null,
        })),
      },
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://gateway");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (options.apiKeys) {
      // A gateway that serves others: browsers of any origin may call its API, and the key decides
      // (the web app's own routes, which show this gateway's account, stay same-origin).
      const use = keyUseOf(req.method, path);
      if ((use || path === "/health" || path === "/gotong/offers") && applyCors(req, res)) return;
      if (use) requestKeys.set(res, options.apiKeys.authorize(req, use));
    }
    if (req.method === "GET" && path === "/health") {
      if (!options.readiness) return sendJson(res, 200, { ok: true });
      const { status, body, headers } = readinessResponse(await options.readiness.check());
      return sendJson(res, status, body, headers);
    }
    if (req.method === "GET" && path === "/v1/models") {
      const models = await router.listModels();
      return sendJson(res, 200, { object: "list", data: await Promise.all(models.map(modelObject)) });
    }
    if (req.method === "GET" && path.startsWith("/v1/models/")) {
      const id = decodeURIComponent(path.slice("/v1/models/".length));
      const model = (await router.listModels()).find((m) => m.name === id);
      if (!model) throw new GotongError(`The model "${id}" does not exist or no provider offers it`, { code: "model_not_found", status: 404, param: "model", hint: "GET /v1/models lists the models on offer." });
      return sendJson(res, 200, await modelObject(model));
    }
    if (req.method === "GET" && path === "/gotong/receipts") {
      // With API keys, each key sees its own receipts only.
      return sendJson(res, 200, { data: store.listReceipts(Number(url.searchParams.get("limit") ?? 100), requestKeys.get(res)?.id).map((r) => ({ ...gotongSummary({ provider: r.provider, modelId: r.modelId } as Offer, r.receipt), model: r.modelName, createdAt: r.createdAt })) });
    }
    if (req.method === "GET" && path === "/gotong/offers") {
      const models = await router.listModels();
      return sendJson(res, 200, {
        chainId: domain.chainId,
        data: models.flatMap((m) =>
          m.offers.map((o) => ({
            model: m.name,
            modelId: o.modelId.toString(),
            provider: o.provider,
            hpkePublicKey: o.hpkePublicKey,
            weightsHash: o.weightsHash,
            pricePerMillionInput: o.price.pricePerMillionInput.toString(),
            pricePerMillionOutput: o.price.pricePerMillionOutput.toString(),
            capabilities: o.capabilities,
          })),
        ),
      });
    }
    if (req.method === "POST" && path === "/gotong/relay/prepare") return prepareRelay(req, res);
    const relayMatch = /^\/gotong\/relay\/(0x[0-9a-f]{64})$/.exec(path);
    if (req.method === "POST" && relayMatch) return relaySealed(relayMatch[1] as Hex, req, res);
    if (path === "/v1/chat/completions" || path === "/v1/completions" || path === "/v1/embeddings") {
      if (req.method !== "POST") throw new GotongError(`Use POST for ${path}`, { code: "method_not_allowed", status: 405 });
      return relay(path, req, res);
    }
    if (path === "/v1/responses") {
      if (req.method !== "POST") throw new GotongError(`Use POST for ${path}`, { code: "method_not_allowed", status: 405 });
      return relay(path, req, res);
    }
    const storedResponse = /^\/v1\/responses\/([^/]+)(\/input_items|\/cancel)?$/.exec(path);
    if (storedResponse && storedResponse[1] !== "input_tokens" && storedResponse[1] !== "compact") throw responseNotStored(decodeURIComponent(storedResponse[1]!));
    if (options.fallback?.(req, res)) return;
    throw new GotongError(`No route for ${req.method} ${path}`, { code: "not_found", status: 404 });
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
