import { hexToBytes, isAddressEqual, type Address, type Hex, type PublicClient } from "viem";
import { X402SplitterArtifact } from "../../chain/contracts.generated.ts";
import { hasBatchSettlement } from "../../chain/installBatchSettlement.ts";
import { GotongError, isGotongError } from "../../common/errors.ts";
import type { Logger } from "../../common/logger.ts";
import { postUpstream, type UpstreamResponse } from "../../common/postUpstream.ts";
import type { PromptInput } from "../../model/createPromptRenderer.ts";
import type { PaymentVerifier } from "../../payments/createPaymentVerifier.ts";
import { createRequestInfo, createStreamOpener, sealRequest, type ResponseKeys } from "../../privacy/index.ts";
import { gotongErrorCodeOf } from "../../protocol/errorCodes.ts";
import { parseEmbeddingRequest } from "../../protocol/parseEmbeddingRequest.ts";
import { checkProtocolVersion, PROTOCOL_VERSION_HEADERS } from "../../protocol/protocolVersion.ts";
import { HEADERS, SEALED_CONTENT_TYPE } from "../../protocol/wire.ts";
import { BATCH_SETTLEMENT_SCHEME } from "../../protocol/x402/batchSettlement.ts";
import { eip155Network } from "../../protocol/x402/caip2.ts";
import { encodeX402Header, parsePaymentPayloadHeader, parsePaymentRequiredHeader } from "../../protocol/x402/x402Codec.ts";
import { X402_ERROR_REASONS } from "../../protocol/x402/x402ErrorReasons.ts";
import { X402_HEADERS, X402_VERSION, type PaymentRequired, type PaymentRequirements } from "../../protocol/x402/x402Types.ts";
import { checkReceipt } from "../checkReceipt.ts";
import type { ProviderInfo } from "../createProviderInfo.ts";
import type { Router } from "../createRouter.ts";
import type { Offer } from "../discoverOffers.ts";
import { embeddingTerms, type EmbeddingCounter } from "../embeddingTerms.ts";
import { relayJson } from "../relays/jsonRelay.ts";
import type { RelayContext } from "../relays/RelayContext.ts";
import { relaySse } from "../relays/sseRelay.ts";
import { requestNeeds } from "../requestNeeds.ts";
import { mergeRoutingPreferences, parseRoutingPreferences, type RoutingPreferences } from "../routingPreferences.ts";
import { messageOf, noProviderAvailable, ProviderRefusal, providerSkipped, requestCancelled } from "../core/errors.ts";
import { eventStream } from "../core/eventStream.ts";
import { newRequestId } from "../core/sendRequest.ts";
import { askedOutputOf, requestTerms, type RequestTerms } from "../core/requestTerms.ts";
import type { Completion } from "../core/types.ts";
import { watchReachable } from "../core/watchReachable.ts";
import { readPaymentTarget } from "./readPaymentTarget.ts";
import { requirementsObjection } from "./requirementsObjection.ts";

/** The routes a client may pay with x402 at a gateway: the provider's own paths, so `resource` matches there. */
export const X402_GATEWAY_PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] as const;
export type X402GatewayPath = (typeof X402_GATEWAY_PATHS)[number];

/**
 * How long a paid request waits for the provider's response headers: the provider settles the
 * payment on chain (and waits for it to be mined) before it answers, so this is longer than the
 * gateway's usual header timeout.
 */
const PAID_HEADER_TIMEOUT_MS = 120_000;

/** A client's request to pay by x402: the route, its body, and the `PAYMENT-SIGNATURE` it carries, if any. */
export type X402GatewayRequest = {
  path: X402GatewayPath;
  body: Record<string, unknown>;
  raw: Uint8Array;
  /** The client's `PAYMENT-SIGNATURE` header; undefined for an unpaid request (answered 402). */
  payment: string | undefined;
  /** This gateway's origin as the client reached it (`http://host:port`): `resource.url` is rewritten to it. */
  origin: string;
  signal: AbortSignal;
};

/** A paid request's answer, and the headers it goes out with (`PAYMENT-RESPONSE`, the provider's receipt). */
export type X402Served = { completion: Completion; headers: Record<string, string> };

export type GatewayX402Options = {
  router: Router;
  /** Reads X402Splitter's `payeeOf` (a view). */
  client: PublicClient;
  /** The X402Splitter of the deployment. */
  splitter: Address;
  /** The payment token: the only asset a provider's requirements may name. */
  token: Address;
  chainId: number;
  /** Checks providers' receipt signatures (the PaymentChannels domain). */
  verifier: PaymentVerifier;
  logger: Logger;
  providerInfo: ProviderInfo;
  /** Seal requests to each provider's HPKE key, as for the gateway's own requests. Default true. */
  seal?: boolean;
  /** Time to wait for an unpaid request's 402 before trying the next provider. Default 30 s. */
  timeoutMs?: number;
  countPrompt?: (weightsHash: Hex, input: PromptInput) => number | undefined;
  countEmbeddingInput?: EmbeddingCounter;
  tokenDecimals: number;
  routing?: RoutingPreferences;
};

/**
 * x402 at the gateway: a client with no API key and no account pays each request itself, with x402
 * `exact` or `batch-settlement`, and the gateway spends nothing and opens no channel for it.
 *
 * An unpaid request is routed as usual and sent on, sealed and without a voucher, to the chosen
 * provider, whose 402 says what it costs; the gateway checks each of its `accepts` entries by itself
 * (see requirementsObjection: this chain, the deployment's token, `payTo` the X402Splitter payee of
 * that provider and model, so whatever is paid is split on chain, `amount` no more than the
 * gateway's own bound on the request's worst case at the offer's registered price, and for
 * `batch-settlement` the canonical contracts and the provider as `receiverAuthorizer`), passes on
 * those that pass and answers the client 402 with them, `resource.url` rewritten to its own URL with
 * the same path. A paid request (`PAYMENT-SIGNATURE`) goes to the one provider whose payee the
 * payment names (an `exact` authorization's `to`, a channel's `receiver`), with that header
 * untouched: the provider verifies it and settles it (or takes the deposit or voucher) before it
 * serves, and its answer comes back with its `PAYMENT-RESPONSE` and receipt headers, a refusal with
 * its `PAYMENT-REQUIRED` (a corrective 402's channel state included). A payment to a payee of no
 * offer the gateway knows for the model is refused with the scheme's reason and nothing is
 * forwarded. A paid request is never sent to another provider: the payment is bound to one payee,
 * so a provider that fails is reported, not failed over.
 */
export function createGatewayX402(options: GatewayX402Options) {
  const { router, logger } = options;
  const network = eip155Network(options.chainId);
  const seal = options.seal !== false;
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Payees are CREATE2 addresses of (provider, model): fixed for a splitter, so cached for good.
  const payees = new Map<string, Promise<Address>>();
  const payeeOf = (offer: Offer): Promise<Address> => {
    const key = `${offer.provider.toLowerCase()}:${offer.modelId}`;
    let payee = payees.get(key);
    if (!payee) {
      payee = options.client.readContract({ address: options.splitter, abi: X402SplitterArtifact.abi, functionName: "payeeOf", args: [offer.provider, offer.modelId] } as never) as Promise<Address>;
      payees.set(key, payee);
      payee.catch(() => payees.delete(key));
    }
    return payee;
  };
  // Only a yes is kept: contracts put at the canonical addresses later (a devnet's) are seen then.
  let batchContracts: Promise<boolean> | undefined;
  const hasBatchContracts = (): Promise<boolean> => {
    if (!batchContracts) {
      const asked = hasBatchSettlement(options.client);
      batchContracts = asked;
      const forget = () => {
        if (batchContracts === asked) batchContracts = undefined;
      };
      asked.then((yes) => yes || forget(), forget);
    }
    return batchContracts;
  };

  /** Reads the routing preferences (over the defaults) and takes them out of what the provider gets, as the core does. */
  function forProvider(body: Record<string, unknown>, raw: Uint8Array) {
    const preferences = mergeRoutingPreferences(options.routing, parseRoutingPreferences(body.provider, { decimals: options.tokenDecimals }));
    if (body.provider === undefined) return { preferences, body, raw };
    const { provider: _, ...rest } = body;
    return { preferences, body: rest, raw: Buffer.from(JSON.stringify(rest)) as Uint8Array };
  }

  /** The gateway's own bound on what the request may cost at `offer` (its registered price). */
  async function termsAt(offer: Offer, path: X402GatewayPath, body: Record<string, unknown>, raw: Uint8Array, contextFallback?: number): Promise<RequestTerms> {
    if (path === "/v1/embeddings") return embeddingTerms(offer, body, options.countEmbeddingInput);
    let contextSize: number | undefined;
    if (askedOutputOf(body) === undefined) {
      contextSize = await options.providerInfo.contextSizeOf(offer).catch((error: unknown) => {
        if (contextFallback === undefined) throw error;
        return contextFallback;
      });
    }
    return requestTerms(offer, body, raw, false, options.countPrompt, contextSize);
  }

  /** The request sealed to `offer`'s key (when sealing is on), with the headers to send it with. */
  function prepare(offer: Offer, raw: Uint8Array, payment: string | undefined) {
    const requestId = newRequestId();
    let payload = raw;
    let responseKeys: ResponseKeys | undefined;
    if (seal) {
      const sealed = sealRequest(hexToBytes(offer.hpkePublicKey), raw, createRequestInfo({ chainId: options.chainId, provider: offer.provider }), { aad: hexToBytes(requestId) });
      payload = sealed.envelope;
      responseKeys = sealed.responseKeys;
    }
    const headers: Record<string, string> = {
      ...PROTOCOL_VERSION_HEADERS,
      "content-type": seal ? SEALED_CONTENT_TYPE : "application/json",
      [HEADERS.requestId]: requestId,
    };
    if (payment !== undefined) headers[X402_HEADERS.paymentSignature] = payment;
    return { requestId, responseKeys, headers, body: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) };
  }

  /** POSTs to the provider, giving up on its headers after `headerMs` or once its host stops answering. */
  async function post(offer: Offer, path: string, prepared: ReturnType<typeof prepare>, headerMs: number, abort: AbortController): Promise<UpstreamResponse> {
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${headerMs} ms`)), headerMs);
    const stopWatching = watchReachable(offer.endpoint, (reason) => abort.abort(new Error(`the provider's host stopped answering (${reason})`)));
    try {
      return await postUpstream(`${offer.endpoint}${path}`, prepared.headers, prepared.body, abort.signal);
    } finally {
      clearTimeout(timer);
      stopWatching();
    }
  }

  /** `PaymentRequired` as the client is given it: `resource.url` on this gateway, the same path. */
  const atGateway = (required: PaymentRequired, origin: string, path: string): PaymentRequired => ({ ...required, resource: { ...required.resource, url: `${origin}${path}` } });

  /** A refusal before anything was forwarded: 402 (400 for a malformed header) with `PAYMENT-REQUIRED` carrying the reason. */
  const refuse = (origin: string, path: string, reason: string, message: string) =>
    new GotongError(`x402 payment refused (${reason}): ${message}`, {
      code: "x402_payment_refused",
      status: reason === X402_ERROR_REASONS.payload ? 400 : 402,
      headers: { [X402_HEADERS.paymentRequired]: encodeX402Header({ x402Version: X402_VERSION, error: reason, resource: { url: `${origin}${path}` }, accepts: [] }) },
      hint: "Send the request without PAYMENT-SIGNATURE for this gateway's requirements, and sign a payment for them.",
    });

  /**
   * Whether `requirements` are what the gateway lets a client pay `offer` for this request (see
   * requirementsObjection); the chain is read only for what the entry needs.
   * @returns Why not, or undefined when they are.
   */
  async function objection(offer: Offer, requirements: PaymentRequirements, terms: RequestTerms): Promise<string | undefined> {
    const batchSettlement = requirements.scheme === BATCH_SETTLEMENT_SCHEME && (await hasBatchContracts());
    const payee = await payeeOf(offer);
    return requirementsObjection(requirements, { network, token: options.token, payee, provider: offer.provider, maxCost: terms.maxCost, batchSettlement });
  }

  /** An unpaid request: the first routed provider's checked requirements, as a 402 to the client. */
  async function requirements(request: X402GatewayRequest, model: string, body: Record<string, unknown>, raw: Uint8Array, preferences: RoutingPreferences): Promise<never> {
    const { path, signal, origin } = request;
    const offers = await router.route(model, { needs: path === "/v1/embeddings" ? ["embeddings"] : requestNeeds(body), preferences });
    const tried: { provider: Address; error: GotongError }[] = [];
    let lastError: GotongError | undefined;
    const skip = (offer: Offer, code: "provider_unavailable" | "x402_unavailable", message: string, cause?: unknown) => {
      lastError = providerSkipped(code, message, cause);
      tried.push({ provider: offer.provider, error: lastError });
      logger.warn("provider gave no usable x402 requirements, trying the next", { provider: offer.provider, error: message });
    };
    for (const offer of offers) {
      if (signal.aborted) throw requestCancelled();
      let terms: RequestTerms;
      try {
        terms = await termsAt(offer, path, body, raw);
      } catch (error) {
        router.markDown(offer.provider);
        skip(offer, "provider_unavailable", `The provider did not say its model's context size: ${messageOf(error)}`, error);
        continue;
      }
      const abort = new AbortController();
      const onGone = () => abort.abort(new Error("client disconnected"));
      signal.addEventListener("abort", onGone);
      let upstream: UpstreamResponse;
      try {
        upstream = await post(offer, path, prepare(offer, raw, undefined), timeoutMs, abort);
      } catch (error) {
        signal.removeEventListener("abort", onGone);
        if (signal.aborted) throw requestCancelled();
        router.markDown(offer.provider);
        skip(offer, "provider_unavailable", `The provider did not answer: ${messageOf(error)}`, error);
        continue;
      }
      signal.removeEventListener("abort", onGone);
      const header = upstream.header(X402_HEADERS.paymentRequired);
      const errorBody = (await upstream.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      if (upstream.status === 402 && header) {
        const parsed = parsePaymentRequiredHeader(header);
        const accepts = parsed.ok ? parsed.value.accepts : [];
        const passed: PaymentRequirements[] = [];
        const objections: string[] = parsed.ok ? [] : [`its PAYMENT-REQUIRED header is malformed: ${parsed.problem}`];
        for (const candidate of accepts) {
          const why = await objection(offer, candidate, terms).catch((error: unknown) => `its payee or the batch-settlement contracts could not be read from the chain: ${messageOf(error)}`);
          if (why === undefined) {
            passed.push(candidate);
            continue;
          }
          // The client can still pay by the entries that pass: one that fails is dropped, not the provider.
          logger.debug("dropped a provider's x402 requirements entry", { provider: offer.provider, scheme: candidate.scheme, why });
          objections.push(`${candidate.scheme}: ${why}`);
        }
        const chosen = passed[0];
        if (!parsed.ok || !chosen) {
          skip(offer, "x402_unavailable", `The provider's x402 requirements are not acceptable: ${objections.join("; ") || "it offers no way to pay"}`);
          continue;
        }
        const required = atGateway({ ...parsed.value, accepts: passed }, origin, path);
        throw new GotongError(`This gateway is paid per request with x402: ${required.error ?? "PAYMENT-SIGNATURE header is required"}`, {
          code: "voucher_missing",
          status: 402,
          headers: { [X402_HEADERS.paymentRequired]: encodeX402Header({ ...required, error: required.error ?? `${X402_HEADERS.paymentSignature} header is required` }) },
          hint: `Pay with x402 (the PAYMENT-REQUIRED header says how, by ${passed.map((a) => a.scheme).join(" or ")}): ${chosen.amount} base units of ${chosen.asset} to ${chosen.payTo}, provider ${offer.provider}'s X402Splitter payee.`,
        });
      }
      if (upstream.status === 402) {
        skip(offer, "x402_unavailable", `The provider does not take x402 payments (it answered 402 without PAYMENT-REQUIRED: ${errorBody.error?.message ?? "no reason given"})`);
        continue;
      }
      if (upstream.status === 200 || upstream.status >= 500 || upstream.status === 429) {
        if (upstream.status !== 429) router.markDown(offer.provider);
        skip(offer, "provider_unavailable", `The provider answered ${upstream.status} to an unpaid request${errorBody.error?.code ? ` (${errorBody.error.code})` : ""}: ${errorBody.error?.message ?? "no reason given"}`);
        continue;
      }
      // The request itself is at fault (a bad parameter, a prompt too long): the next provider would say the same.
      throw new ProviderRefusal(upstream.status, errorBody.error ? errorBody : { error: { message: `Provider answered ${upstream.status}`, type: "invalid_request_error", code: "upstream_error", param: null } });
    }
    throw noProviderAvailable(model, tried, lastError);
  }

  /** The offers of `model` (a name, or `name@id`) a payment may be meant for: known, not excluded, not suspended. */
  async function offersOf(model: string): Promise<Offer[]> {
    const at = model.lastIndexOf("@");
    const wantedId = at > 0 && /^\d+$/.test(model.slice(at + 1)) ? BigInt(model.slice(at + 1)) : undefined;
    const name = wantedId !== undefined ? model.slice(0, at) : model;
    const offers = (await router.listModels()).flatMap((m) => m.offers);
    return offers.filter((o) => o.modelName === name && (wantedId === undefined || o.modelId === wantedId) && !router.isUntrusted(o.provider) && !router.isSuspended(o.provider));
  }

  /** A paid request: forwarded to the provider the payment pays, and its answer relayed with the payment's headers. */
  async function paid(request: X402GatewayRequest, model: string, body: Record<string, unknown>, raw: Uint8Array): Promise<X402Served> {
    const { path, signal, origin, payment } = request;
    const parsed = parsePaymentPayloadHeader(payment!);
    if (!parsed.ok) throw refuse(origin, path, X402_ERROR_REASONS.payload, `the ${X402_HEADERS.paymentSignature} header is malformed: ${parsed.problem}`);
    const target = readPaymentTarget(parsed.value, options.chainId);
    if ("reason" in target) throw refuse(origin, path, target.reason, target.message);
    const candidates = await offersOf(model);
    const known = await Promise.all(candidates.map(async (offer) => ({ offer, payee: await payeeOf(offer).catch(() => undefined) })));
    const offer = known.find((k) => k.payee !== undefined && isAddressEqual(k.payee, target.payee))?.offer;
    if (!offer) {
      throw refuse(origin, path, target.unknownPayeeReason, `The payment pays ${target.payee}, which is no X402Splitter payee of an offer of "${model}" this gateway knows; nothing was forwarded`);
    }
    // Only the receipt check needs them here: a provider that does not say its context size is
    // held to the largest one the gateway believes (2^20 tokens) and to what arrives.
    const terms = await termsAt(offer, path, body, raw, 2 ** 20);
    const prepared = prepare(offer, raw, payment);
    const { requestId, responseKeys } = prepared;
    const abort = new AbortController();
    // The client left: the connection to the provider is cut, which stops it. The payment was for
    // the worst case and settled before serving, so there is nothing left to count.
    const onGone = () => abort.abort(new Error("client disconnected"));
    signal.addEventListener("abort", onGone);
    let handedOver = false;
    const cleanUp = () => signal.removeEventListener("abort", onGone);
    try {
      let upstream: UpstreamResponse;
      try {
        upstream = await post(offer, path, prepared, PAID_HEADER_TIMEOUT_MS, abort);
      } catch (error) {
        if (signal.aborted) throw requestCancelled();
        router.markDown(offer.provider);
        throw new GotongError(`Provider ${offer.provider}, the one this payment pays, did not answer the paid request: ${messageOf(error)}`, {
          code: "provider_unavailable",
          status: 502,
          retryable: true,
          cause: error,
          hint: `The payment was sent to no other provider: it pays only ${target.payee}. ${target.ifUnanswered}`,
        });
      }
      try {
        checkProtocolVersion(upstream.header(HEADERS.protocolVersion), { local: "gateway", remote: "provider" });
      } catch (error) {
        abort.abort(error);
        throw error;
      }
      const settlement = upstream.header(X402_HEADERS.paymentResponse);
      const headers: Record<string, string> = {};
      if (settlement) headers[X402_HEADERS.paymentResponse] = settlement;
      if (upstream.status !== 200) {
        const errorBody = (await upstream.json().catch(() => ({}))) as { error?: { code?: string; message?: string; param?: string } };
        const required = upstream.header(X402_HEADERS.paymentRequired);
        if (required) {
          const requirements = parsePaymentRequiredHeader(required);
          headers[X402_HEADERS.paymentRequired] = requirements.ok ? encodeX402Header(atGateway(requirements.value, origin, path)) : required;
        }
        if (upstream.status >= 500) router.markDown(offer.provider);
        const settled = settlement !== undefined && upstream.status !== 402;
        throw new GotongError(`Provider ${offer.provider} answered the paid request ${upstream.status}: ${errorBody.error?.message ?? "no reason given"}`, {
          code: gotongErrorCodeOf(errorBody.error?.code, upstream.status === 402 ? "x402_payment_refused" : "provider_unavailable"),
          status: upstream.status === 200 ? 502 : upstream.status,
          param: errorBody.error?.param,
          headers,
          hint: settled
            ? "Its PAYMENT-RESPONSE says what was settled; this gateway does not send a paid request to another provider."
            : "This gateway does not send a paid request to another provider (the payment pays one payee).",
        });
      }
      if (responseKeys && upstream.header(HEADERS.sealed) !== "1") {
        router.markUntrusted(offer.provider);
        throw new GotongError(`Provider ${offer.provider} answered a sealed request in the clear`, { code: "provider_unsealed", status: 502 });
      }
      const receiptHeader = upstream.header(HEADERS.receipt);
      if (receiptHeader) headers[HEADERS.receipt] = receiptHeader;
      const { channelId } = target;
      const context: RelayContext = {
        offer,
        requestId,
        terms,
        signal,
        // The client has paid already (`exact`: the worst case, settled before serving;
        // `batch-settlement`: a voucher for it, in the provider's hands): a receipt that fails the
        // gateway's checks cannot be refused payment. It is reported and the provider excluded
        // from routing, and the answer the client paid for is still delivered.
        accept: (receipt, receivedOutputTokens) => {
          try {
            return checkReceipt(options.verifier, offer, receipt, { requestId, channelId, bounds: { ...terms, receivedOutputTokens } });
          } catch (error) {
            if (!receipt || !isGotongError(error)) throw error;
            logger.warn("refused the receipt of an x402 request (the payment had settled already)", { provider: offer.provider, code: error.code, error: error.message });
            router.markUntrusted(offer.provider);
            return receipt;
          }
        },
        cut: () => {},
      };
      const opener = responseKeys ? createStreamOpener(responseKeys) : undefined;
      const stream = path !== "/v1/embeddings" && body.stream === true;
      if (stream) {
        handedOver = true;
        return { completion: { kind: "stream", provider: offer.provider, requestId, events: eventStream(relaySse(upstream, context, opener), cleanUp) }, headers };
      }
      const answer = await relayJson(upstream, context, opener);
      return { completion: { kind: "answer", body: answer.body, summary: answer.summary, provider: offer.provider, requestId }, headers };
    } finally {
      if (!handedOver) cleanUp();
    }
  }

  return {
    /**
     * Serves a request a client pays with x402: without `payment`, throws the 402 that says what
     * to pay (`voucher_missing`, `PAYMENT-REQUIRED`); with one, the answer and its headers.
     *
     * @throws GotongError `x402_payment_refused` (402, 400 for a malformed header) for a payment
     *   refused here or by the provider, `provider_unavailable` (502) when the provider it pays did
     *   not answer, `no_provider_available` (503) when no provider gave requirements, a
     *   ProviderRefusal when the request itself is at fault.
     */
    async serve(request: X402GatewayRequest): Promise<X402Served> {
      const model = request.body.model;
      if (typeof model !== "string" || !model) throw new GotongError(`"model" is required`, { code: "invalid_parameter", param: "model", status: 400 });
      const { preferences, body, raw } = forProvider(request.body, request.raw);
      if (request.path === "/v1/embeddings") parseEmbeddingRequest(body);
      if (request.payment === undefined) return requirements(request, model, body, raw, preferences);
      return paid(request, model, body, raw);
    },
    /** X402Splitter's payee of an offer (cached). */
    payeeOf,
  };
}

/** x402 at the gateway: see createGatewayX402. */
export type GatewayX402 = ReturnType<typeof createGatewayX402>;
