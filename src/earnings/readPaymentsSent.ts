import type { Address, Hex, PublicClient } from "viem";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { addToSplit, emptySplit, type PaymentSplit } from "./paymentSplit.ts";
import { readVoucherRedemptions } from "./readVoucherRedemptions.ts";

/** What one of a sender's channels paid on-chain, and where that money went. */
export type SentChannelPayments = { channelId: Hex; provider: Address; modelId: bigint; split: PaymentSplit };

/** Everything an account paid through its channels (as their sender), channel by channel. */
export type PaymentsSent = { total: PaymentSplit; channels: SentChannelPayments[] };

/**
 * Reads what `sender` paid through payment channels it opened (a gateway's or an agent's key), and
 * how the contract split each channel's redeemed vouchers into royalty, protocol fee and provider
 * share. Only redeemed vouchers count: a request paid by a voucher the provider has not redeemed
 * yet shows up after the redeem.
 *
 * @example const { total } = await readPaymentsSent(client, deployment, "0x…"); // total.royalty, total.fee, total.provider
 */
export async function readPaymentsSent(client: PublicClient, deployment: Deployment, sender: Address): Promise<PaymentsSent> {
  try {
    const opened = await client.getContractEvents({
      address: deployment.paymentChannels,
      abi: PaymentChannelsArtifact.abi,
      eventName: "ChannelOpened",
      args: { sender },
      fromBlock: BigInt(deployment.startBlock ?? 0),
      toBlock: "latest",
    });
    const channels = new Map<Hex, SentChannelPayments>();
    for (const log of opened) {
      channels.set(log.args.channelId!, { channelId: log.args.channelId!, provider: log.args.provider!, modelId: log.args.modelId!, split: emptySplit() });
    }
    const total = emptySplit();
    for (const r of await readVoucherRedemptions(client, deployment, { channelIds: [...channels.keys()] })) {
      addToSplit(channels.get(r.channelId)!.split, r);
      addToSplit(total, r);
    }
    return { total, channels: [...channels.values()].filter((c) => c.split.paid > 0n) };
  } catch (error) {
    throw toChainError(error, "reading payments sent");
  }
}
