import { erc20Abi, isAddressEqual, parseEventLogs, type Address, type Hex, type TransactionReceipt } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { chainTime } from "../funding/chainTime.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";
import { readOwnChannel } from "./closeChannel.ts";
import { formatChainTime, formatDuration } from "../common/parseDuration.ts";

/** What a withdrawal paid back. Amounts in token base units. */
export type ChannelWithdrawal = {
  channelId: Hex;
  hash: Hex;
  /** Paid back to the sender: deposit − redeemed (the `ChannelWithdrawn` event's refund). */
  refund: bigint;
  /** The ERC-20 `Transfer` from PaymentChannels to the sender in the same transaction (0 when the refund was 0). */
  transferred: bigint;
  deposit: bigint;
  redeemed: bigint;
  /** The channel's epoch from now on; vouchers of the withdrawn one can never pay again. */
  nextEpoch: bigint;
};

/**
 * Refuses a withdrawal the contract would refuse, saying when it becomes possible: a channel that
 * is not closing, or whose challenge period has not ended (in chain time).
 */
export async function checkWithdrawable(client: ChainClients["public"], channelId: Hex, channel: OnchainChannel): Promise<void> {
  if (channel.closesAt === 0n) {
    throw new GotongError(`Channel ${channelId} is open: close it first`, {
      code: "channel_not_closing",
      hint: "Run `gotong channel close ID`; the rest can be withdrawn once the challenge period is over.",
    });
  }
  const now = await chainTime(client);
  if (now < channel.closesAt) {
    throw new GotongError(
      `Channel ${channelId} is still in its challenge period: withdrawing becomes possible at ${formatChainTime(channel.closesAt)} (chain time, in ${formatDuration(channel.closesAt - now)})`,
      { code: "challenge_period_active", retryable: true, hint: "The provider may redeem its latest voucher until then; run this again after that time." },
    );
  }
}

/**
 * The refund of a `withdraw` transaction, from its `ChannelWithdrawn` event, beside the token
 * `Transfer` that carried it to `sender`.
 */
export function readWithdrawal(deployment: Deployment, receipt: TransactionReceipt, channelId: Hex, sender: Address): { refund: bigint; transferred: bigint; nextEpoch: bigint } {
  const ours = receipt.logs.filter((log) => isAddressEqual(log.address, deployment.paymentChannels));
  const [withdrawn] = parseEventLogs({ abi: PaymentChannelsArtifact.abi, logs: ours, eventName: "ChannelWithdrawn" }).filter((e) => e.args.channelId === channelId);
  if (!withdrawn) throw new GotongError(`The withdraw transaction ${receipt.transactionHash} has no ChannelWithdrawn event for ${channelId}`, { code: "withdraw_not_found", status: 502 });
  const tokenLogs = receipt.logs.filter((log) => isAddressEqual(log.address, deployment.token.address));
  const transferred = parseEventLogs({ abi: erc20Abi, logs: tokenLogs, eventName: "Transfer" })
    .filter((t) => isAddressEqual(t.args.from, deployment.paymentChannels) && isAddressEqual(t.args.to, sender))
    .reduce((sum, t) => sum + t.args.value, 0n);
  return { refund: withdrawn.args.refund, transferred, nextEpoch: withdrawn.args.nextEpoch };
}

/**
 * Withdraws what is left in a closed channel to the client's own account, after the challenge
 * period: exactly deposit − redeemed. Refuses before then, saying when it becomes possible.
 *
 * @param clients Clients acting as the channel's sender.
 * @returns The refund (from the contract's event) and the token transfer that paid it.
 * @example const { refund } = await withdrawChannel(clients, deployment, channelId);
 */
export async function withdrawChannel(clients: ChainClients, deployment: Deployment, channelId: Hex): Promise<ChannelWithdrawal> {
  const channel = await readOwnChannel(clients.public, deployment, channelId, clients.account.address);
  await checkWithdrawable(clients.public, channelId, channel);
  const { hash, receipt } = await writeAndWait(clients, { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "withdraw", args: [channelId] });
  const { refund, transferred, nextEpoch } = readWithdrawal(deployment, receipt, channelId, clients.account.address);
  return { channelId, hash, refund, transferred, deposit: channel.deposit, redeemed: channel.deposit - refund, nextEpoch };
}
