import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import { hexToBytes, type Hex } from "viem";
import { GotongError, isGotongError } from "../common/errors.ts";
import { readBody, parseJsonObject, sendError, sendJson, startSse, DEFAULT_BODY_LIMIT } from "../common/http.ts";
import type { Logger } from "../common/logger.ts";
import { postUpstream, type UpstreamResponse } from "../common/postUpstream.ts";
import { createBinaryFrameReader, createRequestInfo, createStreamOpener, decodeSseFrame, sealRequest, type ResponseKeys, type StreamOpener } from "../privacy/index.ts";
import { SEALED_CONTENT_TYPE } from "../provider/createSealedTransport.ts";
import { DEFAULT_MAX_TOKENS } from "../provider/parseGenerationRequest.ts";
import { computeCost } from "../payments/price.ts";
import { createPaymentVerifier } from "../payments/createPaymentVerifier.ts";
import { decodeReceiptHeader, receiptFromJson, type SignedReceipt } from "../payments/receipt.ts";
import { encodeVoucherHeader, type VoucherDomain } from "../payments/voucher.ts";
import { checkReceipt } from "./checkReceipt.ts";
import { refuseCrossSiteSpending } from "./refuseCrossSiteSpending.ts";
import type { ChannelManager } from "./createChannelManager.ts";
import type { ChannelRecord, GatewayStore } from "./createGatewayStore.ts";
import type { Router } from "./createRouter.ts";
import type { Offer } from "./discoverOffers.ts";

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
  /** Extra routes (the web app, later) tried before the API's 404. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean;
};

/** Summary of a paid request, returned to the client in headers and the final SSE event. */
function gotongSummary(offer: Offer, receipt: SignedReceipt) {
  return {
    receiptId: receipt.requestId,
    cost: receipt.cost.toString(),
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
  const verifier = createPaymentVerifier(domain);

  /** Settles requests whose streams were cut before their receipts arrived. */
  async function settlePending(offer: Offer, channel: ChannelRecord): Promise<void> {
    for (const pending of store.listPending(channel.channelId)) {
      if (pending.epoch !== channel.epoch) {
        store.deletePending(pending.requestId);
        continue;
      }
      const res = await fetch(`${offer.endpoint}/gotong/receipts/${pending.requestId}`, { signal: AbortSignal.timeout(5_000) });
      if (res.status === 404) {
        store.deletePending(pending.requestId);
        continue;
      }
      if (!res.ok) throw new Error(`receipt lookup answered ${res.status}`);
      const receipt = await checkReceipt(verifier, offer, receiptFromJson(await res.json()), {
        requestId: pending.requestId,
        channelId: channel.channelId,
        observedOutputTokens: pending.observedOutputTokens,
        cut: true,
      });
      store.addReceipt(store.getChannel(channel.channelId)!, { receipt, provider: offer.provider, modelId: offer.modelId, modelName: offer.modelName });
    }
  }

  function estimateMaxCost(offer: Offer, body: Record<string, unknown>, rawLength: number): bigint {
    // Every token is at least one byte of the body, plus a template's few tokens: an upper bound.
    const inputTokens = rawLength + 64;
    const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS);
    return computeCost(offer.price, { inputTokens, outputTokens: Number.isFinite(maxTokens) && maxTokens > 0 ? maxTokens : DEFAULT_MAX_TOKENS });
  }

  function outputCap(body: Record<string, unknown>): bigint {
    const cap = Number(body.max_completion_tokens ?? body.max_tokens);
    return BigInt(Number.isSafeInteger(cap) && cap > 0 ? cap : 1_000_000);
  }

  async function relay(path: string, req: IncomingMessage, res: ServerResponse) {
    refuseCrossSiteSpending(req);
    const raw = await readBody(req, options.bodyLimit ?? DEFAULT_BODY_LIMIT);
    const body = parseJsonObject(raw);
    const model = requireModel(body);
    const stream = body.stream === true;
    const offers = await router.route(model);
    const clientGone = clientGoneSignal(res);
    let lastError: unknown;
    for (const offer of offers) {
      if (clientGone.aborted) return;
      try {
        await attempt(offer, path, body, raw, stream, res, clientGone);
        return;
      } catch (error) {
        if (!(error instanceof TryNext)) throw error;
        lastError = error.cause;
        logger.warn("provider failed, trying the next", { provider: offer.provider, error: (error.cause as Error)?.message });
      }
    }
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
    res: ServerResponse,
    clientGone: AbortSignal,
    opaque?: { requestId: Hex; envelope: Buffer },
  ) {
    let channel: ChannelRecord;
    try {
      channel = await channels.ensureChannel(offer.provider, offer.modelId, estimateMaxCost(offer, body, raw.length));
      await settlePending(offer, channel);
    } catch (error) {
      if (isGotongError(error) && !error.retryable && error.status < 500) throw error;
      router.markDown(offer.provider);
      throw new TryNext("channel", { cause: error });
    }
    for (let retry = 0; ; retry++) {
      channel = store.getChannel(channel.channelId)!;
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
      const upstreamAbort = new AbortController();
      const onGone = () => upstreamAbort.abort();
      clientGone.addEventListener("abort", onGone);
      const headerTimer = setTimeout(() => upstreamAbort.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      let upstream: UpstreamResponse;
      // Until the gateway knows better, the most output this request can be billed for is its cap:
      // if the gateway itself dies mid-request, a fair receipt still settles on the next use.
      store.putPending({ requestId, channelId: channel.channelId, epoch: channel.epoch, observedOutputTokens: outputCap(body) });
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
        store.deletePending(requestId);
        if (clientGone.aborted) return;
        router.markDown(offer.provider);
        throw new TryNext("unreachable", { cause: error });
      }
      clearTimeout(headerTimer);
      try {
        if (upstream.status !== 200) {
          store.deletePending(requestId);
          const errorBody = (await upstream.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
          const code = errorBody.error?.code;
          if (upstream.status === 402 && retry === 0 && (code === "voucher_below_owed" || code === "insufficient_deposit")) {
            // The provider counts something we have not seen (a receipt lost with a cut stream), or the
            // deposit ran short: settle or top up, then try once more.
            if (code === "insufficient_deposit") {
              channels.forget(channel.channelId);
              channel = await channels.ensureChannel(offer.provider, offer.modelId, estimateMaxCost(offer, body, raw.length) * 2n);
            } else {
              await settlePending(offer, channel);
            }
            continue;
          }
          if (upstream.status >= 500 || upstream.status === 429 || upstream.status === 402) {
            router.markDown(offer.provider);
            throw new TryNext(`status ${upstream.status}`, { cause: new Error(errorBody.error?.message ?? `provider answered ${upstream.status}`) });
          }
          // The request itself is at fault: the next provider would say the same.
          sendJson(res, upstream.status, errorBody.error ? errorBody : { error: { message: `Provider answered ${upstream.status}`, type: "invalid_request_error", code: "upstream_error", param: null } });
          return;
        }
        router.observe(offer.provider, performance.now() - started);
        if ((responseKeys || opaque) && upstream.header("x-gotong-sealed") !== "1") {
          store.deletePending(requestId);
          router.markUntrusted(offer.provider);
          throw new GotongError(`Provider ${offer.provider} answered a sealed request in the clear`, { code: "provider_unsealed", status: 502 });
        }
        if (opaque) {
          await relayOpaqueStream(offer, channel, requestId, upstream, res);
          return;
        }
        const opener = responseKeys ? createStreamOpener(responseKeys) : undefined;
        if (stream) await relayStream(offer, channel, requestId, upstream, res, opener);
        else await relayJson(offer, channel, requestId, upstream, res, opener);
        return;
      } finally {
        clientGone.removeEventListener("abort", onGone);
      }
    }
  }

  async function accept(offer: Offer, channel: ChannelRecord, requestId: Hex, receipt: SignedReceipt | undefined, observedOutputTokens?: bigint): Promise<SignedReceipt> {
    try {
      const checked = await checkReceipt(verifier, offer, receipt, { requestId, channelId: channel.channelId, observedOutputTokens });
      store.addReceipt(store.getChannel(channel.channelId)!, { receipt: checked, provider: offer.provider, modelId: offer.modelId, modelName: offer.modelName });
      return checked;
    } catch (error) {
      store.deletePending(requestId);
      router.markUntrusted(offer.provider);
      logger.warn("receipt refused; provider excluded", { provider: offer.provider, error: (error as Error).message });
      throw error;
    }
  }

  async function relayJson(offer: Offer, channel: ChannelRecord, requestId: Hex, upstream: UpstreamResponse, res: ServerResponse, opener?: StreamOpener) {
    let bytes = await upstream.bytes();
    if (opener) {
      const reader = createBinaryFrameReader();
      const parts = reader.push(bytes).map((frame) => opener.open(frame).plaintext);
      reader.end();
      opener.end();
      bytes = Buffer.concat(parts);
    }
    const body = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    const header = upstream.header("x-gotong-receipt");
    const receipt = await accept(offer, channel, requestId, header ? decodeReceiptHeader(header) : undefined);
    const summary = gotongSummary(offer, receipt);
    body.gotong = summary;
    sendJson(res, 200, body, {
      "x-gotong-receipt-id": summary.receiptId,
      "x-gotong-cost": summary.cost,
      "x-gotong-input-tokens": String(summary.inputTokens),
      "x-gotong-output-tokens": String(summary.outputTokens),
      "x-gotong-provider": offer.provider,
    });
  }

  async function relayStream(offer: Offer, channel: ChannelRecord, requestId: Hex, upstream: UpstreamResponse, res: ServerResponse, opener?: StreamOpener) {
    const sse = startSse(res, { "x-gotong-provider": offer.provider, "x-gotong-request-id": requestId });
    let pending: Buffer = Buffer.alloc(0);
    let observed = 0n;
    let settled = false;
    // This runs once per token, so it works on bytes: complete events are passed on untouched in one
    // write (each carries the provider's running `gotong.outputTokens`, which clients may ignore),
    // and only the final event holding the receipt is parsed, checked and rewritten.
    const counterKey = Buffer.from('"outputTokens":');
    const receiptKey = Buffer.from('"receipt":');
    const handleEvents = async (events: Buffer) => {
      if (events.indexOf(receiptKey) < 0) {
        const counterAt = events.lastIndexOf(counterKey);
        if (counterAt >= 0) {
          let end = counterAt + counterKey.length;
          let n = 0n;
          while (end < events.length && events[end]! >= 48 && events[end]! <= 57) n = n * 10n + BigInt(events[end++]! - 48);
          observed = n;
        }
        sse.forward(events);
        return;
      }
      for (const event of events.toString("utf8").split("\n\n")) {
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data) as Record<string, unknown> & { gotong?: { receipt?: unknown; outputTokens?: unknown } };
        if (typeof chunk.gotong?.outputTokens === "number") observed = BigInt(chunk.gotong.outputTokens);
        if (chunk.gotong?.receipt !== undefined) {
          settled = true; // accepted or refused, this request's receipt has been dealt with
          const receipt = await accept(offer, channel, requestId, receiptFromJson(chunk.gotong.receipt), observed);
          chunk.gotong = gotongSummary(offer, receipt) as never;
        }
        sse.send(chunk);
      }
    };
    const handleComplete = async (complete: Buffer) => {
      // [DONE] is ours to send once the receipt has been checked.
      const done = complete.lastIndexOf("data: [DONE]\n\n");
      await handleEvents(done >= 0 ? complete.subarray(0, done) : complete);
    };
    try {
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
      if (opener && !opener.finished && !settled) opener.end(); // a sealed stream cut short is refused as truncated
      if (!settled && !res.destroyed) sse.send(streamError(offer));
      sse.end();
    } catch (error) {
      if (res.destroyed) return;
      sse.send(streamError(offer, error));
      sse.end();
    } finally {
      // A cut stream: remember exactly how much arrived, so its receipt can be checked later.
      if (!settled) store.putPending({ requestId, channelId: channel.channelId, epoch: channel.epoch, observedOutputTokens: observed });
    }
  }

  /**
   * Relays a stream the gateway cannot read: sealed frames pass through untouched, while the clear
   * running token count (`id:`) and the clear receipt trailer let it check the bill before paying.
   */
  async function relayOpaqueStream(offer: Offer, channel: ChannelRecord, requestId: Hex, upstream: UpstreamResponse, res: ServerResponse) {
    const sse = startSse(res, { "x-gotong-provider": offer.provider, "x-gotong-request-id": requestId, "x-gotong-sealed": "1" });
    let pending = "";
    let observed = 0n;
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
            const receipt = await accept(offer, channel, requestId, receiptFromJson(JSON.parse(json)), observed);
            passOn += `event: gotong\ndata: ${JSON.stringify(gotongSummary(offer, receipt))}\n\n`;
            continue;
          }
          const id = /^id: (\d+)$/m.exec(event);
          if (id) observed = BigInt(id[1]!);
          passOn += event + "\n\n";
        }
        if (passOn) sse.forward(Buffer.from(passOn, "latin1"));
      }
      if (!settled && !res.destroyed) sse.forward(Buffer.from(`event: error\ndata: ${JSON.stringify(streamError(offer))}\n\n`));
    } catch (error) {
      if (!res.destroyed) sse.forward(Buffer.from(`event: error\ndata: ${JSON.stringify(streamError(offer, error))}\n\n`));
    } finally {
      if (!settled) store.putPending({ requestId, channelId: channel.channelId, epoch: channel.epoch, observedOutputTokens: observed });
      if (!res.writableEnded) res.end();
    }
  }

  /** Requests prepared for the web app: the provider is fixed once the browser has sealed to its key. */
  const prepared = new Map<Hex, { offer: Offer; expires: number }>();

  async function prepareRelay(req: IncomingMessage, res: ServerResponse) {
    refuseCrossSiteSpending(req);
    const model = requireModel(parseJsonObject(await readBody(req, 16 * 1024)));
    const offer = (await router.route(model))[0]!;
    const requestId = `0x${randomBytes(32).toString("hex")}` as Hex;
    const now = Date.now();
    for (const [id, p] of prepared) if (p.expires < now) prepared.delete(id);
    prepared.set(requestId, { offer, expires: now + 5 * 60_000 });
    sendJson(res, 200, { requestId, provider: offer.provider, hpkePublicKey: offer.hpkePublicKey, chainId: domain.chainId, modelId: offer.modelId.toString() });
  }

  async function relaySealed(requestId: Hex, req: IncomingMessage, res: ServerResponse) {
    const entry = prepared.get(requestId);
    if (!entry || entry.expires < Date.now()) throw new GotongError(`No prepared request ${requestId}`, { code: "relay_not_prepared", status: 404, hint: "POST /gotong/relay/prepare first, then seal to the provider it names." });
    refuseCrossSiteSpending(req, [SEALED_CONTENT_TYPE]);
    prepared.delete(requestId);
    const envelope = await readBody(req, options.bodyLimit ?? DEFAULT_BODY_LIMIT);
    const clientGone = clientGoneSignal(res);
    try {
      await attempt(entry.offer, "/v1/chat/completions", {}, envelope, true, res, clientGone, { requestId, envelope });
    } catch (error) {
      if (error instanceof TryNext) {
        throw new GotongError(`Provider ${entry.offer.provider} could not take the request`, { code: "provider_unavailable", status: 503, retryable: true, hint: "Prepare again: another provider may be chosen.", cause: error.cause });
      }
      throw error;
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://gateway");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { ok: true });
    if (req.method === "GET" && path === "/v1/models") {
      const models = await router.listModels();
      return sendJson(res, 200, {
        object: "list",
        data: models.map((m) => ({
          id: m.name,
          object: "model",
          created: 0,
          owned_by: "gotong",
          gotong: {
            modelId: m.offers[0]!.modelId.toString(),
            weightsHash: m.offers[0]!.weightsHash,
            providers: m.offers.length,
            pricePerMillionInput: m.offers.map((o) => o.price.pricePerMillionInput).reduce((a, b) => (a < b ? a : b)).toString(),
            pricePerMillionOutput: m.offers.map((o) => o.price.pricePerMillionOutput).reduce((a, b) => (a < b ? a : b)).toString(),
          },
        })),
      });
    }
    if (req.method === "GET" && path === "/gotong/receipts") {
      return sendJson(res, 200, { data: store.listReceipts(Number(url.searchParams.get("limit") ?? 100)).map((r) => ({ ...gotongSummary({ provider: r.provider, modelId: r.modelId } as Offer, r.receipt), model: r.modelName, createdAt: r.createdAt })) });
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
          })),
        ),
      });
    }
    if (req.method === "POST" && path === "/gotong/relay/prepare") return prepareRelay(req, res);
    const relayMatch = /^\/gotong\/relay\/(0x[0-9a-f]{64})$/.exec(path);
    if (req.method === "POST" && relayMatch) return relaySealed(relayMatch[1] as Hex, req, res);
    if (path === "/v1/chat/completions" || path === "/v1/completions") {
      if (req.method !== "POST") throw new GotongError(`Use POST for ${path}`, { code: "method_not_allowed", status: 405 });
      return relay(path, req, res);
    }
    if (options.fallback?.(req, res)) return;
    throw new GotongError(`No route for ${req.method} ${path}`, { code: "not_found", status: 404 });
  }

  return createServer((req, res) => {
    route(req, res).catch((error) => {
      if (!isGotongError(error)) logger.error("request failed", { error: (error as Error).message });
      sendError(res, error);
    });
  });
}
