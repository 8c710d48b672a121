import type { Address, Hex } from "viem";
import type { Logger } from "../common/logger.ts";
import { encodeVoucherHeader } from "../payments/voucher.ts";
import type { ChannelManager } from "./createChannelManager.ts";
import type { GatewayStore } from "./createGatewayStore.ts";

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
            options.logger.warn("provider refused a settlement voucher", { provider: channel.provider, status: res.status });
            // A refusal (a closed channel, say) is final for this amount: not sent again every tick.
            if (res.status < 500 && res.status !== 429) settled.set(channel.channelId, channel.spent);
          }
        } catch (error) {
          options.logger.debug("settlement voucher not delivered; will retry", { provider: channel.provider, error: (error as Error).message });
        }
      }
      return sent;
    },
  };
}
