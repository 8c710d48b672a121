import { zeroAddress, type Address, type Hex } from "viem";
import type { Logger } from "../common/logger.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";
import { encodeVoucherHeader } from "../protocol/voucher.ts";
import { HEADERS } from "../protocol/wire.ts";
import { PROTOCOL_VERSION_HEADERS } from "../protocol/protocolVersion.ts";
import type { ChannelManager } from "./createChannelManager.ts";
import type { ChannelRecord, GatewayStore } from "./createGatewayStore.ts";

/** Refusals after which a settlement voucher can never be accepted. */
const FINAL_REFUSALS = new Set(["channel_closed", "voucher_wrong_epoch", "channel_not_found"]);

/** Why a channel's voucher can no longer pay anything, from the chain; undefined while it still can. */
export function settlementClosed(record: ChannelRecord, onchain: OnchainChannel, now: bigint): string | undefined {
  if (onchain.sender === zeroAddress) return "missing";
  if (onchain.epoch !== record.epoch || onchain.deposit === 0n) return "withdrawn";
  if (onchain.closesAt !== 0n && now >= onchain.closesAt) return "challenge period over";
  if (onchain.redeemed >= record.spent) return "already redeemed";
  return undefined;
}

export type SettlerOptions = {
  store: GatewayStore;
  channels: Pick<ChannelManager, "voucherFor">;
  endpointOf(provider: Address): Promise<string | undefined>;
  /** The channel as PaymentChannels holds it now. */
  readChannel(channelId: Hex): Promise<OnchainChannel>;
  /** The chain's time (unix seconds): a challenge period ends by it, not by this machine's clock. */
  chainNow(): Promise<bigint>;
  logger: Logger;
};

/**
 * Pays for the last request on each channel without waiting for the next one: every request carries
 * a voucher for the ones before it, so after the last, the gateway sends a voucher on its own (when
 * idle and when stopping). The provider can then redeem everything it served.
 *
 * A voucher is sent once per amount, and only while it can still pay: the chain is read first, and
 * a channel that was withdrawn, whose challenge period is over, or that the provider has already
 * redeemed up to the gateway's spent total gets nothing, now or on any later tick. A closing channel
 * still gets its last voucher during the challenge period, since the provider may redeem it then.
 */
export function createSettler(options: SettlerOptions) {
  const settled = new Map<Hex, bigint>();
  /** `channelId:epoch` of channel epochs no voucher can pay any more. */
  const finished = new Set<string>();
  /** What each channel had spent when the last idle round looked at it. */
  const seenSpent = new Map<Hex, bigint>();
  let sentTotal = 0;
  let idleRound: Promise<number> | undefined;

  /** Sends a voucher for the full spent amount on every channel that has one outstanding (`idleOnly`: only on those idle since the last idle round). */
  async function settleChannels(idleOnly: boolean): Promise<number> {
    let sent = 0;
    let now: bigint | undefined;
    for (const channel of options.store.listChannels()) {
      const key = `${channel.channelId}:${channel.epoch}`;
      if (channel.spent === 0n || settled.get(channel.channelId) === channel.spent || finished.has(key)) continue;
      // A channel still in use gets its voucher with its next request: a settlement is for the last
      // one, so an idle round waits until a channel's spending has stood still for a whole round
      // (under load, a round over every busy channel would cost a chain read and a provider call each).
      if (idleOnly) {
        const before = seenSpent.get(channel.channelId);
        seenSpent.set(channel.channelId, channel.spent);
        if (before !== channel.spent) continue;
      }
      try {
        now ??= await options.chainNow();
        const closed = settlementClosed(channel, await options.readChannel(channel.channelId), now);
        if (closed) {
          options.logger.debug("no settlement voucher: it can no longer pay", { channelId: channel.channelId, epoch: channel.epoch, why: closed });
          if (closed === "already redeemed") settled.set(channel.channelId, channel.spent);
          else finished.add(key);
          continue;
        }
      } catch (error) {
        options.logger.debug("cannot read the channel; settling it later", { channelId: channel.channelId, error: (error as Error).message });
        continue;
      }
      const endpoint = await options.endpointOf(channel.provider);
      if (!endpoint) continue;
      const voucher = await options.channels.voucherFor(channel);
      try {
        const res = await fetch(`${endpoint}/gotong/vouchers`, {
          method: "POST",
          headers: { ...PROTOCOL_VERSION_HEADERS, [HEADERS.voucher]: encodeVoucherHeader(voucher) },
          signal: AbortSignal.timeout(5_000),
        });
        sentTotal++;
        if (res.ok) {
          settled.set(channel.channelId, channel.spent);
          sent++;
        } else {
          const code = ((await res.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code;
          // A channel that has closed can never take this voucher: it is not sent again every tick.
          // Anything else (a request's receipt still on its way while it runs, say) is tried again.
          if (code !== undefined && FINAL_REFUSALS.has(code)) {
            options.logger.warn("provider refused a settlement voucher for good", { provider: channel.provider, status: res.status, code });
            finished.add(key);
          } else {
            options.logger.debug("provider refused a settlement voucher; will retry", { provider: channel.provider, status: res.status, code });
          }
        }
      } catch (error) {
        options.logger.debug("settlement voucher not delivered; will retry", { provider: channel.provider, error: (error as Error).message });
      }
    }
    return sent;
  }

  return {
    /** Sends a voucher for the full spent amount on every channel that has one outstanding, now. */
    settle: (): Promise<number> => settleChannels(false),
    /**
     * The timer's round: settles the channels whose spending has not moved since the previous idle
     * round, and does nothing while the previous idle round still runs.
     */
    settleIdle(): Promise<number> {
      idleRound ??= settleChannels(true).finally(() => (idleRound = undefined));
      return idleRound;
    },
    /** How many settlement vouchers this settler has posted to providers so far (accepted or not). */
    posted: () => sentTotal,
  };
}
