import type { Hex } from "viem";
import { isGotongError } from "../../common/errors.ts";
import type { Logger } from "../../common/logger.ts";
import type { PaymentVerifier } from "../../payments/createPaymentVerifier.ts";
import type { SignedReceipt } from "../../protocol/receipt.ts";
import { checkReceipt, type ReceiptBounds } from "../checkReceipt.ts";
import type { ChannelRecord, GatewayStore } from "../createGatewayStore.ts";
import type { Router } from "../createRouter.ts";
import type { Offer } from "../discoverOffers.ts";
import { fetchReceipt } from "./providerRequests.ts";

export type ReceiptKeeperOptions = {
  router: Router;
  store: GatewayStore;
  verifier: PaymentVerifier;
  logger: Logger;
  /** How long a settlement waits for a provider's receipt of a request that still runs there. */
  waitMs: number;
};

/**
 * Where the gateway's money is decided: each receipt is checked and paid once (one SQLite commit,
 * however often it arrives), a refused one pays nothing and excludes its provider for good, and
 * requests that ended without their receipt are settled from the provider's own record.
 */
export function createReceiptKeeper({ router, store, verifier, logger, waitMs }: ReceiptKeeperOptions) {
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
   * Settles requests that ended before their receipts arrived (cut streams, a gateway that died).
   * Call it only while holding the channel's lane, so none of them is still in flight here.
   */
  async function settlePending(offer: Offer, channelId: Hex): Promise<void> {
    const channel = store.getChannel(channelId);
    if (!channel) return;
    for (const pending of store.listPending(channelId)) {
      if (pending.epoch !== channel.epoch) {
        store.deletePending(pending.requestId);
        continue;
      }
      const receipt = await fetchReceipt(offer.endpoint, pending.requestId, waitMs);
      if (!receipt) {
        store.deletePending(pending.requestId); // never served: nothing is owed for it
        continue;
      }
      const bounds = { maxInputTokens: pending.maxInputTokens, maxOutputTokens: pending.maxOutputTokens, receivedOutputTokens: pending.observedOutputTokens };
      accept(offer, channel, pending.requestId, receipt, bounds, true);
    }
  }

  return {
    accept,
    settlePending,
    /** `requestId` was sent at `at` (performance.now()): its receipt then measures the provider's throughput. */
    started: (requestId: Hex, at: number) => void startedAt.set(requestId, at),
    /** A request is over (paid or not). */
    ended: (requestId: Hex) => void startedAt.delete(requestId),
  };
}

export type ReceiptKeeper = ReturnType<typeof createReceiptKeeper>;
