import type { Hex } from "viem";
import type { Logger } from "../common/logger.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";
import type { ChannelManager } from "./createChannelManager.ts";
import type { GatewayStore } from "./createGatewayStore.ts";

/** The default idle age after which a gateway closes a channel itself: 7 days. */
export const DEFAULT_AUTO_CLOSE_AFTER_SECONDS = 7 * 86_400;

export type ChannelCloserOptions = {
  store: GatewayStore;
  channels: Pick<ChannelManager, "close" | "withdraw">;
  readChannel(channelId: Hex): Promise<OnchainChannel>;
  /** The chain's time (unix seconds): challenge periods end by it. */
  chainNow(): Promise<bigint>;
  /** When the gateway last used each channel (ms since the epoch), see `openChannelActivity`. */
  lastUsed(): Map<Hex, number>;
  /** Sends the last vouchers, so the provider can redeem everything before a close. */
  settle(): Promise<unknown>;
  /** Idle seconds after which an open channel is closed; undefined never closes one (closing ones are still withdrawn). */
  autoCloseAfterSeconds: number | undefined;
  logger: Logger;
  /** This machine's clock, ms (idle time is measured by it). Default `Date.now`. */
  now?: () => number;
};

/** What one sweep did. Amounts in token base units. */
export type SweepResult = {
  closed: { channelId: Hex; closesAt: bigint }[];
  withdrawn: { channelId: Hex; refund: bigint }[];
  failed: { channelId: Hex; error: string }[];
};

/**
 * Automatic refunds: deposits never strand in channels nobody uses. Each sweep closes every open
 * channel idle for `autoCloseAfterSeconds` (after sending its last voucher, so the provider can
 * redeem all it served during the challenge period), and withdraws every channel of the gateway's
 * whose challenge period is over (however it was closed: by this closer, `gotong channel close`, or
 * the web app). The next request for the same pair then opens a fresh channel.
 */
export function createChannelCloser(options: ChannelCloserOptions) {
  const now = options.now ?? Date.now;
  return {
    async sweep(): Promise<SweepResult> {
      const result: SweepResult = { closed: [], withdrawn: [], failed: [] };
      const records = options.store.listChannels();
      if (records.length === 0) return result;
      const chainNow = await options.chainNow();
      const lastUsed = options.lastUsed();
      let settled = false;
      for (const record of records) {
        try {
          const onchain = await options.readChannel(record.channelId);
          if (onchain.deposit === 0n) continue; // withdrawn (or never opened): nothing is locked
          if (onchain.closesAt !== 0n) {
            if (chainNow < onchain.closesAt) continue; // the provider may still redeem
            result.withdrawn.push({ channelId: record.channelId, refund: await options.channels.withdraw(record.channelId) });
            continue;
          }
          const idleSeconds = (now() - (lastUsed.get(record.channelId) ?? now())) / 1000;
          if (options.autoCloseAfterSeconds === undefined || idleSeconds < options.autoCloseAfterSeconds) continue;
          if (!settled) {
            await options.settle();
            settled = true;
          }
          const { closesAt } = await options.channels.close(record.channelId);
          options.logger.info("closed an idle channel; it is withdrawn after the challenge period", { channelId: record.channelId, idleSeconds: Math.floor(idleSeconds), closesAt });
          result.closed.push({ channelId: record.channelId, closesAt });
        } catch (error) {
          options.logger.warn("could not close or withdraw a channel; trying again on the next sweep", { channelId: record.channelId, error: (error as Error).message });
          result.failed.push({ channelId: record.channelId, error: (error as Error).message });
        }
      }
      return result;
    },
  };
}
