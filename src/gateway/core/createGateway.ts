import { randomBytes } from "node:crypto";
import { hexToBytes, type Address, type Hex } from "viem";
import { GotongError, isGotongError } from "../../common/errors.ts";
import type { Logger } from "../../common/logger.ts";
import { postUpstream, type UpstreamResponse } from "../../common/postUpstream.ts";
import type { PromptInput } from "../../model/createPromptRenderer.ts";
import { createPaymentVerifier, type PaymentVerifier } from "../../payments/createPaymentVerifier.ts";
import { createRequestInfo, createStreamOpener, sealRequest, type ResponseKeys } from "../../privacy/index.ts";
import { parseEmbeddingRequest } from "../../protocol/parseEmbeddingRequest.ts";
import { encodeVoucherHeader, type VoucherDomain } from "../../protocol/voucher.ts";
import { checkProtocolVersion, PROTOCOL_VERSION_HEADERS } from "../../protocol/protocolVersion.ts";
import { HEADERS, SEALED_CONTENT_TYPE } from "../../protocol/wire.ts";
import type { AuthorizedKey } from "../apiKeys/createApiKeyAuthorizer.ts";
import type { ChannelManager } from "../createChannelManager.ts";
import { createChannelLanes, type LaneRelease } from "../createChannelLanes.ts";
import type { GotongSummary } from "./gotongSummary.ts";
import type { ChannelRecord, GatewayStore } from "../createGatewayStore.ts";
import { createProviderInfo, type ProviderInfo } from "../createProviderInfo.ts";
import type { Router } from "../createRouter.ts";
import type { Offer } from "../discoverOffers.ts";
import { embeddingTerms, type EmbeddingCounter } from "../embeddingTerms.ts";
import { requestNeeds } from "../requestNeeds.ts";
import { mergeRoutingPreferences, parseRoutingPreferences, type RoutingPreferences } from "../routingPreferences.ts";
import { relayJson } from "../relays/jsonRelay.ts";
import type { RelayContext } from "../relays/RelayContext.ts";
import { relaySealed as relaySealedStream, type SealedStreamEvent } from "../relays/sealedRelay.ts";
import { relaySse, type ChatStreamEvent } from "../relays/sseRelay.ts";
import { eventStream } from "./eventStream.ts";
import { modelObject, type ModelObject } from "./modelObject.ts";
import { cancelUpstream, fetchReceipt } from "./providerRequests.ts";
import { createReceiptKeeper } from "./createReceiptKeeper.ts";
import { gotongSummary } from "./gotongSummary.ts";
import { ProviderRefusal, providerUnavailable, relayNotPrepared, requestCancelled } from "./errors.ts";
import { askedOutputOf, pendingOf, requestTerms, type RequestTerms } from "./requestTerms.ts";

export type { ChatStreamEvent } from "../relays/sseRelay.ts";
export type { SealedStreamEvent } from "../relays/sealedRelay.ts";
export type { GotongSummary } from "./gotongSummary.ts";
export type { ModelObject } from "./modelObject.ts";
export { ProviderRefusal } from "./errors.ts";

/** What the core asks of the channel manager (createChannelManager gives it all). */
export type GatewayChannels = Pick<ChannelManager, "channelIdFor" | "ensureChannel" | "voucherFor" | "forget">;

export type GatewayOptions = {
  router: Router;
  channels: GatewayChannels;
  store: GatewayStore;
  /** The PaymentChannels EIP-712 domain: its chain id is sealed into every request's info. */
  domain: VoucherDomain;
  /** Checks providers' receipt signatures. Default: one for `domain`. */
  verifier?: PaymentVerifier;
  logger: Logger;
  /** Time to wait for a provider's response headers before failing over. Default 30 s. */
  upstreamTimeoutMs?: number;
  /** Seal requests end to end to each provider's registered HPKE key. Default true. */
  seal?: boolean;
  /** Requests that may wait for a busy channel before the excess gets 429. Default 64. */
  maxWaitingPerChannel?: number;
  /** Exact prompt tokens of a request, for models whose tokenizer is at hand (see createPromptCounter). */
  countPrompt?: (weightsHash: Hex, input: PromptInput) => number | undefined;
  /** Exact tokens of inputs to embed, for models whose tokenizer is at hand (see createPromptCounter). */
  countEmbeddingInput?: EmbeddingCounter;
  /** Holds each request's worst case against the budget of the API key it came with (see createApiKeyAuthorizer). */
  apiKeys?: { reserve(key: AuthorizedKey, requestId: string, maxCost: bigint): void };
  /** Decimals of the payment token: a request's `provider.max_price` is in whole tokens per million tokens. */
  tokenDecimals: number;
  /** Routing preferences for requests that do not set them (OpenRouter's `provider` object; each field a request sets replaces the default). */
  routing?: RoutingPreferences;
  /** What providers state about their models (context size, quantization). Default: read from each provider's /gotong/info. */
  providerInfo?: ProviderInfo;
};

/** How one call is made. */
export type CallOptions = {
  /** Abort when the caller no longer wants the answer: the provider is asked to stop and is paid for what it sent. */
  signal?: AbortSignal;
  /** The API key the request came with: its budget holds the request's worst case until the receipt settles it. */
  key?: AuthorizedKey;
};

/** A chat or completions request: its parsed body, and the bytes it came as (forwarded untouched when given). */
export type GenerationRequest = {
  api: "chat" | "completions";
  body: Record<string, unknown>;
  /** The body's bytes as the client sent them; default `JSON.stringify(body)`. */
  raw?: Uint8Array;
};

/** An answer that was not streamed, its receipt checked and paid. */
export type Answer = {
  kind: "answer";
  /** The provider's answer (OpenAI-shaped), without Gotong's summary. */
  body: Record<string, unknown>;
  summary: GotongSummary;
  provider: Address;
  requestId: Hex;
};

/**
 * A streamed answer: the provider has answered 200 and the events follow. Consume `events` to its
 * end (or leave early with `break`: the rest is read and paid for unseen); until then the channel
 * to the provider is held for this request.
 */
export type ChatStream = { kind: "stream"; provider: Address; requestId: Hex; events: AsyncIterable<ChatStreamEvent> };

/** What `complete` gives. */
export type Completion = Answer | ChatStream;

/** A sealed request prepared for a client that seals it itself: the provider it must be sealed to. */
export type PreparedSealedRequest = { requestId: Hex; provider: Address; hpkePublicKey: Hex; chainId: number; modelId: string };

/** A sealed answer the gateway cannot read, relayed as it comes (see SealedStreamEvent). Consume it like a ChatStream. */
export type SealedStream = { provider: Address; requestId: Hex; events: AsyncIterable<SealedStreamEvent> };

/** Thrown inside a relay attempt when the next provider should be tried. */
class TryNext extends Error {}

/** How long a cancelled request's answer is read for before the connection is cut after all. */
const CANCEL_DRAIN_MS = 10_000;
/** How long a prepared sealed request waits for its envelope. */
const PREPARED_TTL_MS = 5 * 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newRequestId = () => `0x${randomBytes(32).toString("hex")}` as Hex;

/** The `model` a request names; every operation that pays needs one. */
function requireModel(body: Record<string, unknown>): string {
  if (typeof body.model !== "string" || !body.model) throw new GotongError(`"model" is required`, { code: "invalid_parameter", param: "model", status: 400 });
  return body.model;
}

/** What one attempt sends: the endpoint, the body, and for a sealed request the client's envelope. */
type Job = {
  path: "/v1/chat/completions" | "/v1/completions" | "/v1/embeddings";
  body: Record<string, unknown>;
  raw: Uint8Array;
  stream: boolean;
  signal: AbortSignal;
  key?: AuthorizedKey;
  opaque?: { requestId: Hex; envelope: Uint8Array };
};

/** What a provider that answered 200 gave: a whole answer, or one of the two streams. */
type Served = Answer | ChatStream | { kind: "sealed"; stream: SealedStream };

/**
 * The gateway as a library: routes a request to a provider, pays it through a channel (a voucher
 * for everything received before), relays the answer, and checks the provider's receipt before
 * counting its cost. A provider that is down, or answers 5xx, 429 or 402 before any output, is
 * cooled down and the next one tried. On each channel one request is in flight at a time (the
 * others wait their turn); a request cut short is recorded and settled on the channel's next use.
 * No HTTP here: `createGatewayServer` is the OpenAI-compatible HTTP adapter around it.
 *
 * @example
 * const gateway = createGateway({ router, channels, store, domain, logger, tokenDecimals: 6 });
 * const answer = await gateway.complete({ api: "chat", body: { model: "m", messages: [{ role: "user", content: "Hi" }] } });
 * if (answer.kind === "answer") console.log(answer.body, answer.summary.cost);
 */
export function createGateway(options: GatewayOptions) {
  const { router, channels, store, logger, domain } = options;
  const timeoutMs = options.upstreamTimeoutMs ?? 30_000;
  const verifier = options.verifier ?? createPaymentVerifier(domain);
  const lanes = createChannelLanes({ maxWaiting: options.maxWaitingPerChannel });
  // Each provider's context sizes, for requests whose worst case runs to the context's end.
  const providerInfo = options.providerInfo ?? createProviderInfo();
  // A provider caught overcharging before this gateway restarted stays excluded.
  for (const provider of store.refusedProviders()) router.markUntrusted(provider);
  const receipts = createReceiptKeeper({ router, store, verifier, logger, waitMs: timeoutMs });
  const { accept, settlePending } = receipts;
  const describe = { router, providerInfo, seal: options.seal !== false };
  /** Requests prepared for clients that seal themselves: the provider is fixed once they sealed to its key. */
  const prepared = new Map<Hex, { offer: Offer; expires: number }>();

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

  /** Tries each offer in turn until one serves the job; the errors say why none could. */
  async function failover(model: string, offers: Offer[], job: Job): Promise<Served> {
    let lastError: unknown;
    let busy: unknown;
    for (const offer of offers) {
      if (job.signal.aborted) throw requestCancelled();
      try {
        const served = await attempt(offer, job);
        if (served) return served;
        throw requestCancelled();
      } catch (error) {
        if (job.signal.aborted) throw requestCancelled();
        if (error instanceof ProviderRefusal) throw error; // the request itself is at fault
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
    // Providers that speak another version of the protocol: say which side to upgrade. A 502, not
    // the version check's 400: the client's request is fine, the providers are not.
    if (isGotongError(lastError, "protocol_version_mismatch")) {
      throw new GotongError(`No provider of "${model}" could serve the request: ${lastError.message}`, { code: "protocol_version_mismatch", status: 502, hint: lastError.hint, cause: lastError });
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
   * One try at one provider, holding its channel's lane until the answer has been relayed (for a
   * stream: until its events end). Undefined when the caller left before anything was sent.
   */
  async function attempt(offer: Offer, job: Job): Promise<Served | undefined> {
    const channelId = channels.channelIdFor(offer.provider, offer.modelId);
    // Overload is answered before any work: a full queue is a fast 429, before the terms, a prompt
    // count or a context-size lookup.
    lanes.refuseIfFull(channelId);
    const terms = job.path === "/v1/embeddings"
      ? embeddingTerms(offer, job.body, options.countEmbeddingInput)
      : requestTerms(offer, job.body, job.raw, job.opaque !== undefined, options.countPrompt, await contextSizeFor(offer, job.body, job.opaque !== undefined));
    let release: LaneRelease;
    try {
      // The queue may have filled while the terms were worked out: acquire refuses then too.
      release = await lanes.acquire(channelId, job.signal);
    } catch (error) {
      if (job.signal.aborted) return undefined; // the caller left while waiting: dropped, nothing sent
      throw error;
    }
    let handedOver = false;
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
        if (job.signal.aborted) return undefined;
        channel = store.getChannel(channelId)!;
        if (channel.deposit - channel.spent < terms.maxCost) {
          channel = await channels.ensureChannel(offer.provider, offer.modelId, terms.maxCost).catch((error: unknown) => {
            throw isGotongError(error, "channel_closing") ? new TryNext("channel closing", { cause: error }) : error;
          });
        }
        const outcome = await send(offer, channel, job, terms);
        if (outcome === "cancelled") return undefined;
        if (outcome !== "retry") {
          handedOver = true;
          return holdUntilEnd(outcome, release);
        }
        if (retry >= 8 || Date.now() > deadline) throw new TryNext("gave up", { cause: new Error(`provider kept answering ${outcome}`) });
      }
    } finally {
      if (!handedOver) release();
    }
  }

  /** `served` with `onEnd` run once it is over: at once for a whole answer, after its last event for a stream. */
  function holdUntilEnd(served: Served, onEnd: () => void): Served {
    if (served.kind === "answer") {
      onEnd();
      return served;
    }
    if (served.kind === "stream") return { ...served, events: eventStream(served.events[Symbol.asyncIterator](), onEnd) };
    return { kind: "sealed", stream: { ...served.stream, events: eventStream(served.stream.events[Symbol.asyncIterator](), onEnd) } };
  }

  /**
   * Sends one request on the channel and, once the provider answered 200, hands its answer on.
   * "retry" when the request should be sent again (with a fresh voucher and id): the provider
   * counted something we had not settled, the deposit was topped up, or someone else delivered a
   * copy of this request first.
   */
  async function send(offer: Offer, channel: ChannelRecord, job: Job, terms: RequestTerms): Promise<Served | "retry" | "cancelled"> {
    const { signal, opaque } = job;
    const voucher = await channels.voucherFor(channel);
    const requestId = opaque?.requestId ?? newRequestId();
    const started = performance.now();
    // End-to-end: only the provider's registered key opens the prompt; only we open the answer.
    let responseKeys: ResponseKeys | undefined;
    let payload: Uint8Array = opaque?.envelope ?? job.raw;
    if (!opaque && options.seal !== false) {
      let sealed: ReturnType<typeof sealRequest>;
      try {
        sealed = sealRequest(hexToBytes(offer.hpkePublicKey), job.raw, createRequestInfo({ chainId: domain.chainId, provider: offer.provider }), { aad: hexToBytes(requestId) });
      } catch (error) {
        // A provider registered with an unusable key (wrong length, a low-order point) gets nothing.
        router.markUntrusted(offer.provider);
        throw new TryNext("unusable key", { cause: error });
      }
      payload = sealed.envelope;
      responseKeys = sealed.responseKeys;
    }
    // An API key's budget holds this request's worst case until its receipt settles it (or it is
    // dropped unpaid); the hold lives as long as the pending record below (see createGatewayStore).
    if (job.key) {
      if (!options.apiKeys) throw new GotongError(`Request for API key ${job.key.id} on a gateway core built without apiKeys: its budget cannot be held`, { code: "internal_error", status: 500, hint: "Pass the same apiKeys to createGateway as to the HTTP server." });
      options.apiKeys.reserve(job.key, requestId, terms.maxCost);
    }
    const upstreamAbort = new AbortController();
    // The caller left: ask the provider to stop and finish the answer, and read that to its end, so
    // both sides count the same tokens. Cutting the connection instead would lose what sits in the
    // socket buffers between us, counted as sent by the provider and never seen here.
    let drainTimer: NodeJS.Timeout | undefined;
    let ended = false;
    const onGone = () => {
      drainTimer = setTimeout(() => upstreamAbort.abort(new Error("the provider did not finish a cancelled request")), CANCEL_DRAIN_MS);
      void cancelUpstream(offer.endpoint, requestId, () => ended || upstreamAbort.signal.aborted);
    };
    signal.addEventListener("abort", onGone);
    const headerTimer = setTimeout(() => upstreamAbort.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    // Until the request ends, the record says the most it can be billed: if the gateway itself dies
    // mid-request, a fair receipt still settles on the channel's next use.
    const pending = pendingOf(requestId, channel, terms, terms.maxOutputTokens);
    store.putPending(pending);
    let upstream: UpstreamResponse;
    try {
      upstream = await postUpstream(
        `${offer.endpoint}${job.path}`,
        {
          ...PROTOCOL_VERSION_HEADERS,
          "content-type": responseKeys || opaque ? SEALED_CONTENT_TYPE : "application/json",
          [HEADERS.voucher]: encodeVoucherHeader(voucher),
          [HEADERS.requestId]: requestId,
        },
        Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        upstreamAbort.signal,
      );
    } catch (error) {
      clearTimeout(headerTimer);
      signal.removeEventListener("abort", onGone);
      // Nothing arrived; the provider may still have served it. The record stays, bounded by what
      // arrived (nothing, plus what was in flight), and is settled on the channel's next use.
      store.putPending({ ...pending, observedOutputTokens: 0n });
      if (signal.aborted) return "cancelled";
      router.markDown(offer.provider);
      throw new TryNext("unreachable", { cause: error });
    }
    clearTimeout(headerTimer);
    try {
      checkProtocolVersion(upstream.header(HEADERS.protocolVersion), { local: "gateway", remote: "provider" });
    } catch (error) {
      // Written for another version of the protocol: its answer, receipt or stream would be misread.
      // Like a provider that refused us: the next one is tried. One that refused before running
      // owes and is owed nothing; one that answered 200 may have served it, so the record stays,
      // bounded by nothing having arrived, and is settled on the channel's next use.
      signal.removeEventListener("abort", onGone);
      upstreamAbort.abort(error);
      if (upstream.status === 200) store.putPending({ ...pending, observedOutputTokens: 0n });
      else store.deletePending(requestId);
      router.markDown(offer.provider);
      throw new TryNext("protocol version", { cause: error });
    }
    receipts.started(requestId, started);
    // Runs once this request is over: at once unless a stream is handed on, then after its last event.
    const cleanUp = () => {
      ended = true;
      receipts.ended(requestId);
      clearTimeout(drainTimer);
      signal.removeEventListener("abort", onGone);
    };
    let handedOver = false;
    try {
      if (upstream.status !== 200) return await refusedBy(offer, channel, requestId, upstream, job, terms);
      router.observe(offer.provider, performance.now() - started);
      if ((responseKeys || opaque) && upstream.header(HEADERS.sealed) !== "1") {
        store.deletePending(requestId);
        router.markUntrusted(offer.provider);
        throw new GotongError(`Provider ${offer.provider} answered a sealed request in the clear`, { code: "provider_unsealed", status: 502 });
      }
      const context: RelayContext = {
        offer,
        requestId,
        terms,
        signal,
        accept: (receipt, receivedOutputTokens) => accept(offer, channel, requestId, receipt, { ...terms, receivedOutputTokens }),
        cut: (observedOutputTokens) => store.putPending(pendingOf(requestId, channel, terms, observedOutputTokens)),
      };
      if (opaque) {
        handedOver = true;
        return { kind: "sealed", stream: { provider: offer.provider, requestId, events: eventStream(relaySealedStream(upstream, context), cleanUp) } };
      }
      const opener = responseKeys ? createStreamOpener(responseKeys) : undefined;
      if (job.stream) {
        handedOver = true;
        return { kind: "stream", provider: offer.provider, requestId, events: eventStream(relaySse(upstream, context, opener), cleanUp) };
      }
      const { body, summary } = await relayJson(upstream, context, opener);
      return { kind: "answer", body, summary, provider: offer.provider, requestId };
    } finally {
      if (!handedOver) cleanUp();
    }
  }

  /**
   * What to do with a provider's answer other than 200: send again, fail over to the next provider
   * (5xx, 429 and 402 before any output), or, when the request itself is at fault, a ProviderRefusal.
   */
  async function refusedBy(offer: Offer, channel: ChannelRecord, requestId: Hex, upstream: UpstreamResponse, job: Job, terms: RequestTerms): Promise<"retry"> {
    const errorBody = (await upstream.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    const code = errorBody.error?.code;
    if (upstream.status === 409 && code === "request_id_reused") {
      // Someone delivered a copy of this very request first (it was sealed to the provider, so
      // they cannot read the answer). The provider served it honestly: pay its receipt, within
      // this request's own bounds, and carry on with a fresh request.
      const receipt = await fetchReceipt(offer.endpoint, requestId, timeoutMs).catch(() => undefined);
      if (receipt) terms.copiesCost += accept(offer, channel, requestId, receipt, terms).cost;
      if (job.opaque) {
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
    if (code === "protocol_version_mismatch") {
      // The provider refused our protocol version (without saying its own): the next provider may speak it.
      router.markDown(offer.provider);
      throw new TryNext("protocol version", { cause: new GotongError(errorBody.error?.message ?? "the provider speaks another protocol version", { code: "protocol_version_mismatch", status: 502 }) });
    }
    if (upstream.status >= 500 || upstream.status === 429 || upstream.status === 402) {
      router.markDown(offer.provider);
      throw new TryNext(`status ${upstream.status}`, { cause: new Error(errorBody.error?.message ?? `provider answered ${upstream.status}`) });
    }
    // The request itself is at fault: the next provider would say the same.
    throw new ProviderRefusal(upstream.status, errorBody.error ? errorBody : { error: { message: `Provider answered ${upstream.status}`, type: "invalid_request_error", code: "upstream_error", param: null } });
  }



  /**
   * Reads the routing preferences a body carries (over the gateway's defaults) and takes them out
   * of what the provider gets; the body's bytes stay as they came when there were none.
   */
  function forProvider(body: Record<string, unknown>, raw: Uint8Array | undefined) {
    const preferences = mergeRoutingPreferences(options.routing, parseRoutingPreferences(body.provider, { decimals: options.tokenDecimals }));
    if (body.provider === undefined) return { preferences, body, raw: raw ?? Buffer.from(JSON.stringify(body)) };
    const { provider: _, ...rest } = body;
    return { preferences, body: rest, raw: Buffer.from(JSON.stringify(rest)) };
  }

  return {
    /**
     * Completes a chat (`api: "chat"`, `/v1/chat/completions`) or completions request: routes it
     * to the providers that declare every capability it uses, pays, and fails over before any
     * output. A body with `stream: true` gives a ChatStream once the provider has answered,
     * otherwise the whole Answer; either way the receipt is checked before anything is paid.
     *
     * @param request The parsed body (OpenAI's fields, with OpenRouter's `provider` object for routing) and, optionally, its bytes.
     * @param call `signal` to cancel, `key` the API key whose budget pays.
     * @returns The answer, or its stream of events ending in the summary of the checked receipt.
     * @throws GotongError `no_provider_available` (503), `too_many_requests` (429), `channel_closing` (503),
     *   `cancelled` when `signal` aborted first, a ProviderRefusal when the request itself is refused.
     * @example const c = await gateway.complete({ api: "chat", body: { model, messages, stream: true } }, { signal });
     */
    async complete(request: GenerationRequest, call: CallOptions = {}): Promise<Completion> {
      const model = requireModel(request.body);
      const { preferences, body, raw } = forProvider(request.body, request.raw);
      // Only providers that declare every capability the request uses: never one that would drop it.
      const offers = await router.route(model, { needs: requestNeeds(body), preferences });
      const path = request.api === "chat" ? "/v1/chat/completions" : "/v1/completions";
      const served = await failover(model, offers, { path, body, raw, stream: body.stream === true, signal: call.signal ?? new AbortController().signal, key: call.key });
      return served as Completion;
    },

    /**
     * Embeds the inputs of an `/v1/embeddings` request, paid like a completion with no output:
     * the input is read (and a malformed one refused) before anything is paid.
     *
     * @returns The provider's embeddings list and the summary of its checked receipt.
     * @throws As `complete`.
     */
    async embed(request: { body: Record<string, unknown>; raw?: Uint8Array }, call: CallOptions = {}): Promise<Answer> {
      const model = requireModel(request.body);
      const { preferences, body, raw } = forProvider(request.body, request.raw);
      parseEmbeddingRequest(body);
      const offers = await router.route(model, { needs: ["embeddings"], preferences });
      const served = await failover(model, offers, { path: "/v1/embeddings", body, raw, stream: false, signal: call.signal ?? new AbortController().signal, key: call.key });
      return served as Answer;
    },

    /**
     * Prepares a request that the client seals itself (the web app: even this gateway never sees
     * the prompt): picks the provider and gives the key to seal to and the request id to seal with.
     * Valid for 5 minutes, once.
     *
     * @param body `{ model }`.
     */
    async prepareSealed(body: Record<string, unknown>): Promise<PreparedSealedRequest> {
      const model = requireModel(body);
      const offer = (await router.route(model, { needs: ["chat"] }))[0]!;
      const requestId = newRequestId();
      const now = Date.now();
      for (const [id, p] of prepared) if (p.expires < now) prepared.delete(id);
      prepared.set(requestId, { offer, expires: now + PREPARED_TTL_MS });
      return { requestId, provider: offer.provider, hpkePublicKey: offer.hpkePublicKey, chainId: domain.chainId, modelId: offer.modelId.toString() };
    },

    /**
     * Refuses a request id that was not prepared (or has expired, or was relayed already) with
     * `relay_not_prepared` (404), so an adapter can say so before it reads an envelope.
     */
    assertPrepared(requestId: Hex): void {
      const entry = prepared.get(requestId);
      if (!entry || entry.expires < Date.now()) throw relayNotPrepared(requestId);
    },

    /**
     * Pays for and relays a sealed chat request prepared by `prepareSealed`, to the provider it
     * was sealed to (no failover: nobody else can open it). The answer stays sealed to the client;
     * the gateway checks the provider's clear receipt before paying.
     *
     * @param envelope The HPKE envelope the client sealed (application/gotong-sealed).
     * @throws GotongError `relay_not_prepared` (404), `provider_unavailable` (503), `request_replayed` (409).
     */
    async relaySealed(requestId: Hex, envelope: Uint8Array, call: CallOptions = {}): Promise<SealedStream> {
      const entry = prepared.get(requestId);
      if (!entry || entry.expires < Date.now()) throw relayNotPrepared(requestId);
      prepared.delete(requestId);
      const signal = call.signal ?? new AbortController().signal;
      let served: Served | undefined;
      try {
        served = await attempt(entry.offer, { path: "/v1/chat/completions", body: {}, raw: envelope, stream: true, signal, key: call.key, opaque: { requestId, envelope } });
      } catch (error) {
        throw error instanceof TryNext ? providerUnavailable(entry.offer.provider, error.cause) : error;
      }
      if (!served) throw requestCancelled();
      return (served as { kind: "sealed"; stream: SealedStream }).stream;
    },

    /** The models on offer, each in the OpenAI shape with Gotong's offers, prices and capabilities. */
    async listModels(): Promise<ModelObject[]> {
      return Promise.all((await router.listModels()).map((m) => modelObject(m, describe)));
    },

    /** One model on offer, as `listModels` describes it. @throws GotongError `model_not_found` (404). */
    async getModel(id: string): Promise<ModelObject> {
      const model = (await router.listModels()).find((m) => m.name === id);
      if (!model) throw new GotongError(`The model "${id}" does not exist or no provider offers it`, { code: "model_not_found", status: 404, param: "model", hint: "GET /v1/models lists the models on offer." });
      return modelObject(model, describe);
    },

    /** Every offer, with what a client that seals its own requests needs (the provider's HPKE key). */
    async listOffers() {
      const models = await router.listModels();
      return {
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
      };
    },

    /** The latest paid requests' summaries, newest first; with `keyId`, only that API key's. */
    listReceipts(limit = 100, keyId?: string) {
      return store.listReceipts(limit, keyId).map((r) => ({ ...gotongSummary({ provider: r.provider, modelId: r.modelId }, r.receipt), model: r.modelName, createdAt: r.createdAt }));
    },
  };
}

/** The gateway core: see createGateway. */
export type Gateway = ReturnType<typeof createGateway>;
