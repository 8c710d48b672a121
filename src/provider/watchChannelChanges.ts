import type { Address, Hex, PublicClient } from "viem";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Logger } from "../common/logger.ts";

/** The PaymentChannels events after which a channel read before them is out of date (deposit, close, epoch). */
const CHANGES = ["ChannelToppedUp", "ChannelCloseStarted", "ChannelWithdrawn"] as const;

/**
 * Calls `onChange(channelId)` for every channel a PaymentChannels event says has changed (topped up,
 * closing, withdrawn), as the chain's new blocks bring them. Why: the payment guard can then
 * trust its last read of a channel for a minute instead of a few seconds, so a request after a pause
 * does not wait for an RPC round trip before its first token, and still hears of a close at the next
 * block. A poll the RPC fails is only logged: the guard's cache lifetime bounds what a missed event
 * costs. Returns the function that stops watching.
 */
export function watchChannelChanges(client: PublicClient, paymentChannels: Address, onChange: (channelId: Hex) => void, logger: Logger): () => void {
  return client.watchContractEvent({
    address: paymentChannels,
    abi: PaymentChannelsArtifact.abi,
    // Once a second at most: every provider polls, and a devnet client's 50 ms would load Anvil.
    pollingInterval: Math.max(client.pollingInterval, 1_000),
    onLogs: (logs) => {
      for (const log of logs) {
        const args = (log as { args?: { channelId?: Hex } }).args;
        if ((CHANGES as readonly string[]).includes(log.eventName ?? "") && args?.channelId) onChange(args.channelId);
      }
    },
    onError: (error) => logger.warn("could not read channel events; cached channel reads expire on their own", { error: error.message }),
  });
}
