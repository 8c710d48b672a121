import { isAddressEqual, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { chainTime } from "../funding/chainTime.ts";
import { readChannel, type OnchainChannel } from "../payments/readChannel.ts";
import { formatChainTime, formatDuration } from "../common/parseDuration.ts";

/** A close that was started: when the challenge period ends, in chain time. */
export type ChannelClose = {
  channelId: Hex;
  hash: Hex;
  /** When withdrawing becomes possible (unix seconds, chain time). */
  closesAt: bigint;
  /** The contract's challenge period, seconds. */
  challengePeriod: bigint;
  deposit: bigint;
  /** Redeemed by the provider so far; it may redeem more until `closesAt`. */
  redeemed: bigint;
};

/**
 * Reads a channel that `sender` means to close or withdraw, refusing with what to do when it is
 * not theirs or not open.
 */
export async function readOwnChannel(client: PublicClient, deployment: Deployment, channelId: Hex, sender: Address): Promise<OnchainChannel> {
  const channel = await readChannel(client, deployment.paymentChannels, channelId);
  if (channel.sender === zeroAddress) {
    throw new GotongError(`There is no channel ${channelId} on chain ${deployment.chainId}`, {
      code: "channel_not_found",
      hint: "List your channels with `gotong channel list`, or pass the deployment the channel was opened on with --deployment FILE.",
    });
  }
  if (!isAddressEqual(channel.sender, sender)) {
    throw new GotongError(`Channel ${channelId} was opened by ${channel.sender}, not by ${sender}`, {
      code: "not_channel_sender",
      hint: "Only the sender can close a channel: pass its key with --key FILE; an agent wallet's channels close with `gotong agent close-channels NAME`.",
    });
  }
  if (channel.deposit === 0n) {
    throw new GotongError(`Channel ${channelId} is not open: it was withdrawn (it is in epoch ${channel.epoch} with nothing in it)`, {
      code: "channel_not_open",
      hint: "Nothing is left in it; `gotong channel list` shows what each epoch paid.",
    });
  }
  return channel;
}

/**
 * Starts closing a channel from the client's own account: the provider may still redeem its latest
 * voucher until the challenge period ends, then the sender withdraws what is left
 * (`withdrawChannel`). Refuses a channel that is not the account's, not open, or already closing
 * (saying until when).
 *
 * @param clients Clients acting as the channel's sender.
 * @returns The transaction, and when withdrawing becomes possible.
 * @example const { closesAt } = await closeChannel(clients, deployment, channelId);
 */
export async function closeChannel(clients: ChainClients, deployment: Deployment, channelId: Hex): Promise<ChannelClose> {
  const channel = await readOwnChannel(clients.public, deployment, channelId, clients.account.address);
  const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const challengePeriod = await clients.public.readContract({ ...pc, functionName: "challengePeriod" });
  if (channel.closesAt !== 0n) {
    const now = await chainTime(clients.public);
    throw new GotongError(
      now < channel.closesAt
        ? `Channel ${channelId} is already closing: withdrawing becomes possible at ${formatChainTime(channel.closesAt)} (chain time, in ${formatDuration(channel.closesAt - now)})`
        : `Channel ${channelId} has already closed: its challenge period ended at ${formatChainTime(channel.closesAt)}`,
      { code: "channel_already_closing", hint: now < channel.closesAt ? "Run `gotong channel withdraw ID` then." : "Withdraw the rest now with `gotong channel withdraw ID`." },
    );
  }
  const { hash } = await writeAndWait(clients, { ...pc, functionName: "startClose", args: [channelId] });
  const closed = await readChannel(clients.public, deployment.paymentChannels, channelId);
  return { channelId, hash, closesAt: closed.closesAt, challengePeriod, deposit: closed.deposit, redeemed: closed.redeemed };
}
