import type { Address, Hex, PublicClient } from "viem";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { addToSplit, emptySplit, type PaymentSplit } from "./paymentSplit.ts";
import { readVoucherRedemptions } from "./readVoucherRedemptions.ts";

/** What one channel paid a provider, and how it was split. */
export type ProviderChannelEarnings = { channelId: Hex; sender: Address | undefined; modelId: bigint; split: PaymentSplit };

/** A provider's earnings: per channel, in total, withdrawn and still withdrawable. */
export type ProviderEarnings = {
  /** Its share of every voucher it redeemed (`VoucherRedeemed.providerShare`), all time. */
  earned: bigint;
  /** Credited and not yet withdrawn (`PaymentChannels.earnings`): what `withdrawEarnings` would pay now. */
  withdrawable: bigint;
  /** Paid out by `withdrawEarnings` (`EarningsWithdrawn` events). */
  withdrawn: bigint;
  /** Each channel it redeemed on, with the split of what that channel paid. */
  channels: ProviderChannelEarnings[];
};

/**
 * Reads what `provider` earned from PaymentChannels: each channel it redeemed (with who paid and how
 * the money was split), its withdrawable balance and what it already withdrew. For an account that
 * is only a provider, `earned = withdrawable + withdrawn`.
 *
 * @example const { withdrawable, channels } = await readProviderEarnings(client, deployment, "0x…");
 */
export async function readProviderEarnings(client: PublicClient, deployment: Deployment, provider: Address): Promise<ProviderEarnings> {
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const range = { fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" } as const;
  try {
    const [redemptions, withdrawable, withdrawals, opened] = await Promise.all([
      readVoucherRedemptions(client, deployment, { provider }),
      client.readContract({ ...channels, functionName: "earnings", args: [provider] }),
      client.getContractEvents({ ...channels, eventName: "EarningsWithdrawn", args: { account: provider }, ...range }),
      client.getContractEvents({ ...channels, eventName: "ChannelOpened", args: { provider }, ...range }),
    ]);
    const senders = new Map(opened.map((log) => [log.args.channelId!, log.args.sender!]));
    const byChannel = new Map<Hex, ProviderChannelEarnings>();
    let earned = 0n;
    for (const r of redemptions) {
      const row = byChannel.get(r.channelId) ?? { channelId: r.channelId, sender: senders.get(r.channelId), modelId: r.modelId, split: emptySplit() };
      addToSplit(row.split, r);
      byChannel.set(r.channelId, row);
      earned += r.providerShare;
    }
    const withdrawn = withdrawals.reduce((sum, log) => sum + log.args.amount!, 0n);
    return { earned, withdrawable, withdrawn, channels: [...byChannel.values()] };
  } catch (error) {
    throw toChainError(error, "reading provider earnings");
  }
}
