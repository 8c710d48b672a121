import { randomBytes } from "node:crypto";
import { hexToBytes, type Hex } from "viem";
import { GotongError, isGotongError } from "../../common/errors.ts";
import { postUpstream, type UpstreamResponse } from "../../common/postUpstream.ts";
import { createRequestInfo, createStreamOpener, sealRequest, type ResponseKeys } from "../../privacy/index.ts";
import { checkProtocolVersion, PROTOCOL_VERSION_HEADERS } from "../../protocol/protocolVersion.ts";
import { encodeVoucherHeader } from "../../protocol/voucher.ts";
import { HEADERS, SEALED_CONTENT_TYPE } from "../../protocol/wire.ts";
import type { ChannelRecord } from "../createGatewayStore.ts";
import type { Offer } from "../discoverOffers.ts";
import { relayJson } from "../relays/jsonRelay.ts";
import type { RelayContext } from "../relays/RelayContext.ts";
import { relaySealed } from "../relays/sealedRelay.ts";
import { relaySse } from "../relays/sseRelay.ts";
import { answerRefusal } from "./answerRefusal.ts";
import { messageOf, providerSkipped } from "./errors.ts";
import { eventStream } from "./eventStream.ts";
import { cancelUpstream } from "./providerRequests.ts";
import { watchReachable } from "./watchReachable.ts";
import { pendingOf, type RequestTerms } from "./requestTerms.ts";
import type { Attempt, CoreDeps, Job } from "./types.ts";

/** How long a cancelled request's answer is read for before the connection is cut after all. */
const CANCEL_DRAIN_MS = 10_000;

/** A fresh request id (32 random bytes): the provider's receipt carries it. */
export const newRequestId = () => `0x${randomBytes(32).toString("hex")}` as Hex;

/**
 * Sends one request on the channel and, once the provider answered 200, hands its answer on
 * (`served`). "retry" when the request should be sent again (with a fresh voucher and id): the
 * provider counted something we had not settled, the deposit was topped up, or someone else
 * delivered a copy of this request first; `next` when this provider cannot take it; "cancelled"
 * when the caller left before the provider answered.
 *
 * @throws What answerRefusal throws; `provider_unsealed` for a sealed request answered in the clear;
 *   a receipt refused by the relay of a whole answer.
 */
export async function sendRequest(deps: CoreDeps, offer: Offer, channel: ChannelRecord, job: Job, terms: RequestTerms): Promise<Attempt | "retry" | "cancelled"> {
  const { router, channels, store, receipts, domain, timeoutMs } = deps;
  const { signal, opaque } = job;
  const voucher = await channels.voucherFor(channel);
  const requestId = opaque?.requestId ?? newRequestId();
  const started = performance.now();
  // End-to-end: only the provider's registered key opens the prompt; only we open the answer.
  let responseKeys: ResponseKeys | undefined;
  let payload: Uint8Array = opaque?.envelope ?? job.raw;
  if (!opaque && deps.seal) {
    let sealed: ReturnType<typeof sealRequest>;
    try {
      sealed = sealRequest(hexToBytes(offer.hpkePublicKey), job.raw, createRequestInfo({ chainId: domain.chainId, provider: offer.provider }), { aad: hexToBytes(requestId) });
    } catch (error) {
      // A provider registered with an unusable key (wrong length, a low-order point) gets nothing.
      router.markUntrusted(offer.provider);
      return { next: providerSkipped("hpke_public_key_invalid", `The provider's registered HPKE key is unusable: ${messageOf(error)}`, error) };
    }
    payload = sealed.envelope;
    responseKeys = sealed.responseKeys;
  }
  // An API key's budget holds this request's worst case until its receipt settles it (or it is
  // dropped unpaid); the hold lives as long as the pending record below (see createGatewayStore).
  if (job.key) {
    if (!deps.apiKeys) throw new GotongError(`Request for API key ${job.key.id} on a gateway core built without apiKeys: its budget cannot be held`, { code: "internal_error", status: 500, hint: "Pass the same apiKeys to createGateway as to the HTTP server." });
    const { key } = job;
    store.write(() => deps.apiKeys!.reserve(key, requestId, terms.maxCost));
  }
  // Until the request ends, the record says the most it can be billed: if the gateway itself dies
  // mid-request, a fair receipt still settles on the channel's next use. It (and the key's hold) is
  // on disk before the request leaves, its commit shared with the other requests of this turn; if
  // that fails, neither was kept and nothing is sent.
  const pending = pendingOf(requestId, channel, terms, terms.maxOutputTokens);
  store.putPending(pending);
  await store.durable();
  if (signal.aborted) {
    // The caller left while the record was committed: nothing was sent, nothing is owed for it.
    store.deletePending(requestId);
    return "cancelled";
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
  // A provider host gone from the network is given up on when a new connection to it finds nothing,
  // not only at the timeout: the next provider is tried within seconds.
  const stopWatching = watchReachable(offer.endpoint, (reason) => upstreamAbort.abort(new Error(`the provider's host stopped answering (${reason})`)));
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
    stopWatching();
    signal.removeEventListener("abort", onGone);
    // Nothing arrived; the provider may still have served it. The record stays, bounded by what
    // arrived (nothing, plus what was in flight), and is settled on the channel's next use.
    store.putPending({ ...pending, observedOutputTokens: 0n });
    if (signal.aborted) return "cancelled";
    router.markDown(offer.provider);
    return { next: providerSkipped("provider_unavailable", `The provider did not answer: ${messageOf(error)}`, error) };
  }
  clearTimeout(headerTimer);
  stopWatching();
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
    return { next: isGotongError(error) ? error : providerSkipped("protocol_version_mismatch", messageOf(error), error) };
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
    if (upstream.status !== 200) return await answerRefusal(deps, offer, channel, requestId, upstream, job, terms);
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
      accept: (receipt, receivedOutputTokens) => receipts.accept(offer, channel, requestId, receipt, { ...terms, receivedOutputTokens }),
      cut: (observedOutputTokens) => store.putPending(pendingOf(requestId, channel, terms, observedOutputTokens)),
    };
    if (opaque) {
      handedOver = true;
      return { served: { kind: "sealed", stream: { provider: offer.provider, requestId, events: eventStream(relaySealed(upstream, context), cleanUp) } } };
    }
    const opener = responseKeys ? createStreamOpener(responseKeys) : undefined;
    if (job.stream) {
      handedOver = true;
      return { served: { kind: "stream", provider: offer.provider, requestId, events: eventStream(relaySse(upstream, context, opener), cleanUp) } };
    }
    const { body, summary } = await relayJson(upstream, context, opener);
    return { served: { kind: "answer", body, summary, provider: offer.provider, requestId } };
  } finally {
    if (!handedOver) cleanUp();
  }
}
