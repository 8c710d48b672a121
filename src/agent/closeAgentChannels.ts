import type { Hex } from "viem";
import type { Logger } from "../common/logger.ts";
import type { ChannelFunder } from "../gateway/createChannelManager.ts";
import type { GatewayStore } from "../gateway/createGatewayStore.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";

/** What `closeAgentChannels` did. Amounts in token base units. */
export type AgentChannelsClosed = {
  /** Closes started now; each can be withdrawn at its `closesAt` (chain time). */
  closing: { channelId: Hex; closesAt: bigint }[];
  /** Closes started before whose challenge period is not over yet. */
  waiting: { channelId: Hex; closesAt: bigint }[];
  /** Withdrawn now: each refund went back into the wallet. */
  withdrawn: { channelId: Hex; refund: bigint }[];
  /** The sum of the refunds. */
  refunded: bigint;
};

/**
 * Gets an agent's channel deposits back into its wallet: sends the last vouchers (so providers are
 * paid for what they served), closes every open channel, and withdraws every one whose challenge
 * period is over. Call it again after the challenge period to withdraw those it closed.
 *
 * A refund returns to the wallet's balance and, `withdraw` being a refund call of the default
 * policy, is taken off what the current period has spent (never below zero), so the agent can
 * spend it again in the period.
 *
 * @example const { closing, withdrawn } = await closeAgentChannels({ store, funder, readChannel, chainNow, settle });
 */
export async function closeAgentChannels(options: {
  store: GatewayStore;
  funder: Pick<ChannelFunder, "close" | "withdraw">;
  readChannel(channelId: Hex): Promise<OnchainChannel>;
  chainNow(): Promise<bigint>;
  settle(): Promise<unknown>;
  logger?: Logger;
}): Promise<AgentChannelsClosed> {
  const result: AgentChannelsClosed = { closing: [], waiting: [], withdrawn: [], refunded: 0n };
  const records = options.store.listChannels();
  if (records.length === 0) return result;
  await options.settle();
  const now = await options.chainNow();
  for (const record of records) {
    const onchain = await options.readChannel(record.channelId);
    if (onchain.deposit === 0n) continue;
    if (onchain.closesAt === 0n) {
      await options.funder.close(record.channelId);
      const { closesAt } = await options.readChannel(record.channelId);
      result.closing.push({ channelId: record.channelId, closesAt });
    } else if (now < onchain.closesAt) {
      result.waiting.push({ channelId: record.channelId, closesAt: onchain.closesAt });
    } else {
      const { refund } = await options.funder.withdraw(record.channelId);
      result.withdrawn.push({ channelId: record.channelId, refund });
      result.refunded += refund;
    }
  }
  options.logger?.info("agent channels closed", { closing: result.closing.length, withdrawn: result.withdrawn.length, refunded: result.refunded });
  return result;
}
