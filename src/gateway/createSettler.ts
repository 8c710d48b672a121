import type { Address, Hex } from "viem";
import type { Logger } from "../common/logger.ts";
import { encodeVoucherHeader } from "../payments/voucher.ts";
import type { ChannelManager } from "./createChannelManager.ts";
import type { GatewayStore } from "./createGatewayStore.ts";

/** Refusals after which a settlement voucher can never be accepted. */
const FINAL_REFUSALS = new Set(["channel_closed", "voucher_wrong_epoch", "channel_not_found"]);

/**
 * Pays for the last request on each channel without waiting for the next one: every request carries
 * a voucher for the ones before it, so after the last, the gateway sends a voucher on its own (when
 * idle and when stopping). The provider can then redeem everything it served.
 */
export function createSettler(options: {
  store: GatewayStore;
  channels: ChannelManager;
  endpointOf(provider: Address): Promise<string | undefined>;
  logger: Logger;
}) {
  const settled = new Map<Hex, bigint>();
  return {
    /** Sends a voucher for the full spent amount on every channel that has one outstanding. */
    async settle(): Promise<number> {
      let sent = 0;
      for (const channel of options.store.listChannels()) {
        if (channel.spent === 0n || settled.get(channel.channelId) === channel.spent) continue;
        const endpoint = await options.endpointOf(channel.provider);
        if (!endpoint) continue;
        const voucher = await options.channels.voucherFor(channel);
        try {
          const res = await fetch(`${endpoint}/gotong/vouchers`, {
            method: "POST",
            headers: { "x-gotong-voucher": encodeVoucherHeader(voucher) },
            signal: AbortSignal.timeout(5_000),
          });
          if (res.ok) {
            settled.set(channel.channelId, channel.spent);
            sent++;
          } else {
            const code = ((await res.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code;
            // A channel that has closed can never take this voucher: it is not sent again every tick.
            // Anything else (a request's receipt still on its way while it runs, say) is tried again.
            if (code !== undefined && FINAL_REFUSALS.has(code)) {
              options.logger.warn("provider refused a settlement voucher for good", { provider: channel.provider, status: res.status, code });
              settled.set(channel.channelId, channel.spent);
            } else {
              options.logger.debug("provider refused a settlement voucher; will retry", { provider: channel.provider, status: res.status, code });
            }
          }
        } catch (error) {
          options.logger.debug("settlement voucher not delivered; will retry", { provider: channel.provider, error: (error as Error).message });
        }
      }
      return sent;
    },
  };
}
