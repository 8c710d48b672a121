import type { Address, Hex } from "viem";
import type { ChannelConfig } from "../../../protocol/x402/batchSettlement.ts";
import type { ProviderStore } from "../../createProviderStore.ts";

/** The latest voucher a provider holds on a batch-settlement channel: what it claims with. */
export type HeldVoucher = {
  channelId: Hex;
  config: ChannelConfig;
  /** The voucher's cumulative ceiling, in base units. */
  maxClaimableAmount: bigint;
  signature: Hex;
  /** The (provider, model) pair the channel's receiver is the X402Splitter payee of. */
  modelId: bigint;
  /** What the chain had claimed on the channel when last read or claimed. */
  claimed: bigint;
};

/**
 * The provider's batch-settlement channels: the latest voucher of each (in the provider's store, on
 * disk before the request it pays runs, so a restarted provider still claims it), and which
 * channels have a request in flight (one at a time per channel, as the published server allows).
 */
export type BatchChannels = {
  get(channelId: Hex): HeldVoucher | undefined;
  /** Keeps `voucher` as the channel's latest; durable once the store's `durable()` resolves. */
  hold(voucher: HeldVoucher): void;
  /** Records what the chain has claimed on a channel. */
  setClaimed(channelId: Hex, claimed: bigint): void;
  all(): HeldVoucher[];
  /** Takes the channel for one request; false when one is in flight on it. */
  take(channelId: Hex): boolean;
  free(channelId: Hex): void;
};

/**
 * Creates the channel book on the provider's store (read once, then kept in memory beside it).
 *
 * @example const channels = createBatchChannels(store);
 */
export function createBatchChannels(store: ProviderStore): BatchChannels {
  const held = new Map<string, HeldVoucher>();
  const busy = new Set<string>();
  const key = (id: Hex) => id.toLowerCase();
  for (const s of store.batchVouchers()) held.set(key(s.channelId), { ...s, config: JSON.parse(s.config) as ChannelConfig });
  return {
    get: (id) => held.get(key(id)),
    hold(voucher) {
      const current = held.get(key(voucher.channelId));
      const kept = { ...voucher, claimed: current && current.claimed > voucher.claimed ? current.claimed : voucher.claimed };
      store.holdBatchVoucher({ ...kept, config: JSON.stringify(kept.config) });
      held.set(key(voucher.channelId), kept);
    },
    setClaimed(id, claimed) {
      const current = held.get(key(id));
      if (!current || current.claimed >= claimed) return;
      store.setBatchClaimed(id, claimed);
      held.set(key(id), { ...current, claimed });
    },
    all: () => [...held.values()],
    take(id) {
      if (busy.has(key(id))) return false;
      busy.add(key(id));
      return true;
    },
    free: (id) => void busy.delete(key(id)),
  };
}

/** The payer a held voucher's channel belongs to. */
export const payerOf = (v: HeldVoucher): Address => v.config.payer;
