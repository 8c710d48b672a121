import type { Hex } from "viem";
import { GotongError } from "../../common/errors.ts";
import type { UpstreamResponse } from "../../common/postUpstream.ts";
import type { ChannelRecord } from "../createGatewayStore.ts";
import type { Offer } from "../discoverOffers.ts";
import { ProviderRefusal, providerSkipped } from "./errors.ts";
import { fetchReceipt } from "./providerRequests.ts";
import type { RequestTerms } from "./requestTerms.ts";
import type { CoreDeps, Job } from "./types.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What to do with a provider's answer other than 200: send again ("retry", with a fresh voucher and
 * id, once what stood in the way is dealt with), pass over to the next provider (`next`: 5xx, 429
 * and 402 before any output), or, when the request itself is at fault, a ProviderRefusal.
 *
 * @throws ProviderRefusal when any provider would refuse the request; `request_replayed` when a
 *   sealed request was delivered by someone else first (its copy is paid).
 */
export async function answerRefusal(deps: CoreDeps, offer: Offer, channel: ChannelRecord, requestId: Hex, upstream: UpstreamResponse, job: Job, terms: RequestTerms): Promise<"retry" | { next: GotongError }> {
  const { router, channels, store, receipts, timeoutMs } = deps;
  const errorBody = (await upstream.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  const code = errorBody.error?.code;
  if (upstream.status === 409 && code === "request_id_reused") {
    // Someone delivered a copy of this very request first (it was sealed to the provider, so
    // they cannot read the answer). The provider served it honestly: pay its receipt, within
    // this request's own bounds, and carry on with a fresh request.
    const receipt = await fetchReceipt(offer.endpoint, requestId, timeoutMs).catch(() => undefined);
    if (receipt) terms.copiesCost += receipts.accept(offer, channel, requestId, receipt, terms).cost;
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
    await receipts.settlePending(offer, channel.channelId);
    return "retry";
  }
  if (upstream.status === 402 && (code === "voucher_below_owed" || code === "insufficient_deposit")) {
    // The provider counts something we have not settled (a receipt lost with a cut stream), or
    // the deposit ran short: settle or top up, then try again.
    if (code === "insufficient_deposit") {
      channels.forget(channel.channelId);
      await channels.ensureChannel(offer.provider, offer.modelId, terms.maxCost * 2n, channels.laneOf(channel.channelId));
    } else {
      const before = store.getChannel(channel.channelId)?.spent;
      await receipts.settlePending(offer, channel.channelId);
      if (store.getChannel(channel.channelId)?.spent === before) {
        router.markDown(offer.provider);
        return { next: providerSkipped("provider_unavailable", `The provider counts more than this gateway owes it: ${errorBody.error?.message ?? code}`) };
      }
    }
    return "retry";
  }
  if (code === "protocol_version_mismatch") {
    // The provider refused our protocol version (without saying its own): the next provider may speak it.
    router.markDown(offer.provider);
    return { next: providerSkipped("protocol_version_mismatch", errorBody.error?.message ?? "The provider speaks another version of the protocol") };
  }
  if (upstream.status >= 500 || upstream.status === 429 || upstream.status === 402) {
    router.markDown(offer.provider);
    return { next: providerSkipped("provider_unavailable", `The provider answered ${upstream.status}${code ? ` (${code})` : ""}: ${errorBody.error?.message ?? "no reason given"}`) };
  }
  // The request itself is at fault: the next provider would say the same.
  throw new ProviderRefusal(upstream.status, errorBody.error ? errorBody : { error: { message: `Provider answered ${upstream.status}`, type: "invalid_request_error", code: "upstream_error", param: null } });
}
