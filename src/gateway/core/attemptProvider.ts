import { isGotongError, type GotongError } from "../../common/errors.ts";
import type { LaneRelease } from "../createChannelLanes.ts";
import type { ChannelRecord } from "../createGatewayStore.ts";
import type { Offer } from "../discoverOffers.ts";
import { embeddingTerms } from "../embeddingTerms.ts";
import { messageOf, providerSkipped, requestCancelled } from "./errors.ts";
import { eventStream } from "./eventStream.ts";
import { askedOutputOf, requestTerms } from "./requestTerms.ts";
import { pickLane } from "./pickLane.ts";
import { sendRequest } from "./sendRequest.ts";
import type { Attempt, CoreDeps, Job, Served } from "./types.ts";

/** Times one attempt sends the request again (a busy channel, an unsettled balance) before passing the provider over. */
const MAX_RETRIES = 8;

/**
 * One try at one provider, holding its channel's lane until the answer has been relayed (for a
 * stream: until its events end). `next` when this provider cannot take it (its channel's queue
 * full here included: another provider may have room).
 *
 * @throws `cancelled` when the caller left before anything was sent; a ProviderRefusal, a
 *   refused receipt or any error another provider would meet too.
 */
export async function attemptProvider(deps: CoreDeps, offer: Offer, job: Job): Promise<Attempt> {
  const { router, channels, store, receipts, lanes, timeoutMs } = deps;
  // Overload is answered before any work: a full queue is a fast 429, before the terms, a prompt
  // count or a context-size lookup.
  try {
    lanes.refuseIfFull(pickLane(deps, offer, false).channelId);
  } catch (error) {
    if (isGotongError(error, "too_many_requests")) return { next: error };
    throw error;
  }
  let contextSize: number | undefined;
  if (job.path !== "/v1/embeddings") {
    const context = await contextSizeFor(deps, offer, job.body, job.opaque !== undefined);
    if ("next" in context) return context;
    contextSize = context.size;
  }
  const terms = job.path === "/v1/embeddings"
    ? embeddingTerms(offer, job.body, deps.countEmbeddingInput)
    : requestTerms(offer, job.body, job.raw, job.opaque !== undefined, deps.countPrompt, contextSize);
  let release: LaneRelease;
  // Chosen again now, with nothing awaited before acquire takes it: requests arriving together
  // spread over the pair's channels instead of all picking the one that looked idle.
  const { lane, channelId } = pickLane(deps, offer);
  try {
    // The queue may have filled while the terms were worked out: acquire refuses then too.
    release = await lanes.acquire(channelId, job.signal);
  } catch (error) {
    if (job.signal.aborted) throw requestCancelled(); // the caller left while waiting: dropped, nothing sent
    if (isGotongError(error, "too_many_requests")) return { next: error };
    throw error;
  }
  let handedOver = false;
  try {
    let channel: ChannelRecord;
    try {
      channel = await channels.ensureChannel(offer.provider, offer.modelId, terms.maxCost, lane);
      await receipts.settlePending(offer, channelId);
    } catch (error) {
      // Our channel to this provider is closing: the provider is fine, another one may serve.
      if (isGotongError(error, "channel_closing")) return { next: error };
      if (isGotongError(error) && !error.retryable && error.status < 500) throw error;
      router.markDown(offer.provider);
      return { next: providerSkipped("provider_unavailable", `The channel to the provider could not be opened or settled: ${messageOf(error)}`, error) };
    }
    const deadline = Date.now() + timeoutMs;
    for (let retry = 0; ; retry++) {
      if (job.signal.aborted) throw requestCancelled();
      channel = store.getChannel(channelId)!;
      if (channel.deposit - channel.spent < terms.maxCost) {
        try {
          channel = await channels.ensureChannel(offer.provider, offer.modelId, terms.maxCost, lane);
        } catch (error) {
          if (isGotongError(error, "channel_closing")) return { next: error };
          throw error;
        }
      }
      const outcome = await sendRequest(deps, offer, channel, job, terms);
      if (outcome === "cancelled") throw requestCancelled();
      if (outcome !== "retry") {
        if ("next" in outcome) return outcome;
        handedOver = true;
        return { served: holdUntilEnd(outcome.served, release) };
      }
      if (retry >= MAX_RETRIES || Date.now() > deadline) {
        return {
          next: providerSkipped("provider_retries_exhausted", `The provider asked for the request to be sent again ${retry + 1} times (a busy channel, a channel closed or withdrawn behind our back, an unsettled balance)`),
        };
      }
    }
  } finally {
    if (!handedOver) release();
  }
}

/**
 * The context size of `offer`'s model at its provider, when a request's worst case depends on it:
 * one that names no max_tokens may run until the context ends, and a sealed one hides its own.
 * A provider that cannot say is skipped like one that is down: guessing would leave the deposit
 * short of what its payment guard asks, or its receipt above the bound checked here.
 */
async function contextSizeFor({ router, providerInfo }: CoreDeps, offer: Offer, body: Record<string, unknown>, opaque: boolean): Promise<{ size: number | undefined } | { next: GotongError }> {
  if (!opaque && askedOutputOf(body) !== undefined) return { size: undefined };
  try {
    return { size: await providerInfo.contextSizeOf(offer) };
  } catch (error) {
    router.markDown(offer.provider);
    return { next: providerSkipped("provider_unavailable", `The provider did not say its model's context size: ${messageOf(error)}`, error) };
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
