import type { Hex } from "viem";
import { GotongError } from "../../common/errors.ts";
import type { Logger } from "../../common/logger.ts";
import type { PromptInput } from "../../model/createPromptRenderer.ts";
import { createPaymentVerifier, type PaymentVerifier } from "../../payments/createPaymentVerifier.ts";
import { parseEmbeddingRequest } from "../../protocol/parseEmbeddingRequest.ts";
import type { SignedReceipt } from "../../protocol/receipt.ts";
import type { VoucherDomain } from "../../protocol/voucher.ts";
import type { AuthorizedKey } from "../apiKeys/createApiKeyAuthorizer.ts";
import { createChannelLanes } from "../createChannelLanes.ts";
import type { GatewayStore } from "../createGatewayStore.ts";
import { createProviderInfo, type ProviderInfo } from "../createProviderInfo.ts";
import type { Router } from "../createRouter.ts";
import type { Offer } from "../discoverOffers.ts";
import type { EmbeddingCounter } from "../embeddingTerms.ts";
import { requestNeeds } from "../requestNeeds.ts";
import { mergeRoutingPreferences, parseRoutingPreferences, type RoutingPreferences } from "../routingPreferences.ts";
import { attemptProvider } from "./attemptProvider.ts";
import { createReceiptKeeper } from "./createReceiptKeeper.ts";
import { providerUnavailable, relayNotPrepared } from "./errors.ts";
import { failover } from "./failover.ts";
import { gotongSummary } from "./gotongSummary.ts";
import { modelObject, type ModelObject } from "./modelObject.ts";
import { newRequestId } from "./sendRequest.ts";
import type { Answer, CallOptions, Completion, CoreDeps, GatewayChannels, GenerationRequest, Job, PreparedSealedRequest, SealedStream } from "./types.ts";

export type { ChatStreamEvent } from "../relays/sseRelay.ts";
export type { SealedStreamEvent } from "../relays/sealedRelay.ts";
export type { GotongSummary } from "./gotongSummary.ts";
export type { ModelObject } from "./modelObject.ts";
export type { Answer, CallOptions, ChatStream, Completion, GatewayChannels, GenerationRequest, PreparedSealedRequest, SealedStream } from "./types.ts";
export type { Offer } from "../discoverOffers.ts";
export { ProviderRefusal } from "./errors.ts";

/** How long a prepared sealed request waits for its envelope. */
const PREPARED_TTL_MS = 5 * 60_000;

/** The `model` a request names; every operation that pays needs one. */
function requireModel(body: Record<string, unknown>): string {
  if (typeof body.model !== "string" || !body.model) throw new GotongError(`"model" is required`, { code: "invalid_parameter", param: "model", status: 400 });
  return body.model;
}

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
  /**
   * Told of each client request a provider has begun to serve (answered 200), with the offer and
   * the model name the client asked for: what the challenger paces its challenges by (see
   * createChallenger). Never told of the gateway's own requests (`sendOwn`).
   */
  onServed?: (served: ServedRequest) => void;
};

/** A client request a provider has begun to serve: see GatewayOptions.onServed. */
export type ServedRequest = { offer: Offer; model: string; api: "chat" | "completions" | "embeddings" | "sealed" };

/** The gateway's own request (`sendOwn`): the completion as a client gets it, and the receipt it was paid by. */
export type OwnRequest = {
  completion: Completion;
  /** The provider's signed receipt as checked and paid; undefined until the completion (a stream: its last event) has been consumed, or when none was accepted. */
  receipt(): SignedReceipt | undefined;
};

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
  const seal = options.seal !== false;
  const describe = { router, providerInfo, seal };
  // What each step of a request (failover, one attempt, one send) works with.
  const deps: CoreDeps = {
    router,
    channels,
    store,
    receipts,
    lanes,
    providerInfo,
    domain,
    timeoutMs,
    seal,
    apiKeys: options.apiKeys,
    countPrompt: options.countPrompt,
    countEmbeddingInput: options.countEmbeddingInput,
  };
  const attempt = (offer: Offer, job: Job) => attemptProvider(deps, offer, job);
  /** Tells `onServed` who serves a client's request; a listener's fault never fails the request. */
  const served = (offers: readonly Offer[], provider: string, model: string, api: ServedRequest["api"]) => {
    const offer = offers.find((o) => o.provider === provider);
    if (!offer || !options.onServed) return;
    try {
      options.onServed({ offer, model, api });
    } catch (error) {
      logger.warn("a listener of served requests failed", { error: (error as Error).message });
    }
  };
  /** Requests prepared for clients that seal themselves: the provider is fixed once they sealed to its key. */
  const prepared = new Map<Hex, { offer: Offer; expires: number }>();

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
      const completion = (await failover(attempt, logger, model, offers, { path, body, raw, stream: body.stream === true, signal: call.signal ?? new AbortController().signal, key: call.key })) as Completion;
      served(offers, completion.provider, model, request.api);
      return completion;
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
      const answer = (await failover(attempt, logger, model, offers, { path: "/v1/embeddings", body, raw, stream: false, signal: call.signal ?? new AbortController().signal, key: call.key })) as Answer;
      served(offers, answer.provider, model, "embeddings");
      return answer;
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
     * @throws GotongError `relay_not_prepared` (404), `provider_unavailable` (503, its cause the coded reason),
     *   `too_many_requests` (429), `request_replayed` (409).
     */
    async relaySealed(requestId: Hex, envelope: Uint8Array, call: CallOptions = {}): Promise<SealedStream> {
      const entry = prepared.get(requestId);
      if (!entry || entry.expires < Date.now()) throw relayNotPrepared(requestId);
      prepared.delete(requestId);
      const signal = call.signal ?? new AbortController().signal;
      const result = await attempt(entry.offer, { path: "/v1/chat/completions", body: {}, raw: envelope, stream: true, signal, key: call.key, opaque: { requestId, envelope } });
      if ("next" in result) throw result.next.code === "too_many_requests" ? result.next : providerUnavailable(entry.offer.provider, result.next);
      served([entry.offer], entry.offer.provider, entry.offer.modelName, "sealed");
      return (result.served as { kind: "sealed"; stream: SealedStream }).stream;
    },

    /**
     * Sends a request the gateway makes for itself (a challenge, see createChallenger) to exactly
     * `offer`: through the same lanes, channel, vouchers, sealing and receipt checks as a client's
     * request, so the provider cannot tell it apart, with `raw` sent byte for byte and no failover
     * (the point is this provider). No API key holds it: it is the gateway's own spending, in its
     * channels' `spent` like any request.
     *
     * @param request The endpoint (`api`), the body and the exact bytes to send.
     * @returns The completion (consume it as `complete`'s) and the receipt it was paid by.
     * @throws As `complete`; `provider_unavailable` (503) when this provider cannot take it now.
     * @example const own = await gateway.sendOwn(offer, { api: "chat", body, raw: Buffer.from(JSON.stringify(body)) });
     */
    async sendOwn(offer: Offer, request: GenerationRequest & { raw: Uint8Array }, call: { signal?: AbortSignal } = {}): Promise<OwnRequest> {
      let checked: SignedReceipt | undefined;
      // The same steps with a keeper that also hands this request's accepted receipt back here.
      const own: CoreDeps = { ...deps, receipts: { ...receipts, accept: (...args) => (checked = receipts.accept(...args)) } };
      const path = request.api === "chat" ? "/v1/chat/completions" : "/v1/completions";
      const result = await attemptProvider(own, offer, { path, body: request.body, raw: request.raw, stream: request.body.stream === true, signal: call.signal ?? new AbortController().signal });
      if ("next" in result) throw result.next.code === "too_many_requests" ? result.next : providerUnavailable(offer.provider, result.next);
      return { completion: result.served as Completion, receipt: () => checked };
    },

    /**
     * The models some live provider serves, each in the OpenAI shape with Gotong's offers, prices,
     * capabilities and live-provider count (a model whose every provider stopped answering is left out).
     */
    async listModels(): Promise<ModelObject[]> {
      return Promise.all((await router.listLiveModels()).map((m) => modelObject(m, describe)));
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
