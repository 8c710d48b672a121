import type { Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../../chain/contracts.generated.ts";
import type { GatewayStore } from "../../gateway/createGatewayStore.ts";
import { readModelNames } from "./readModelNames.ts";

/** Where a channel is in its life. */
export type ChannelState = "open" | "closing" | "withdrawable" | "withdrawn";

/** A payment channel as the explorer shows it. Amounts are decimal strings of token base units. */
export type ChannelView = {
  channelId: Hex;
  sender: Address;
  provider: Address;
  modelId: string;
  model: string;
  epoch: string;
  state: ChannelState;
  deposit: string;
  /** Redeemed by the provider on-chain so far in this epoch. */
  redeemed: string;
  /** Spent according to this gateway's checked receipts (at least `redeemed` once settled). */
  spent: string;
  /** What withdrawing would return if the provider redeemed nothing more: deposit − spent (or − redeemed). */
  unspent: string;
  royaltyBps: number;
  feeBps: number;
  /** When the challenge period ends (unix seconds), 0 when not closing. */
  closesAt: number;
};

/**
 * The channels `sender` has opened (from `ChannelOpened`), each read as it is now, with this
 * gateway's own spent total where it pays through it.
 *
 * @example const channels = await readChannels(client, deployment, account, store);
 */
export async function readChannels(client: PublicClient, deployment: Deployment, sender: Address, store: GatewayStore): Promise<ChannelView[]> {
  const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const opened = await client.getContractEvents({ ...pc, eventName: "ChannelOpened", args: { sender }, fromBlock: BigInt(deployment.startBlock), toBlock: "latest" });
  const ids = [...new Set(opened.map((log) => log.args.channelId as Hex))];
  const [now, views] = await Promise.all([
    client.getBlock({ blockTag: "latest" }).then((b) => Number(b.timestamp)),
    Promise.all(ids.map((channelId) => client.readContract({ ...pc, functionName: "getChannel", args: [channelId] }).then((c) => ({ channelId, c })))),
  ]);
  const names = await readModelNames(client, deployment, views.map(({ c }) => c.modelId));
  return views.map(({ channelId, c }) => {
    const closesAt = Number(c.closesAt);
    const state: ChannelState = c.deposit === 0n ? "withdrawn" : closesAt === 0 ? "open" : now >= closesAt ? "withdrawable" : "closing";
    const known = store.getChannel(channelId);
    const spent = known && known.epoch === BigInt(c.epoch) && known.spent > c.redeemed ? known.spent : c.redeemed;
    return {
      channelId,
      sender: c.sender,
      provider: c.provider,
      modelId: c.modelId.toString(),
      model: names.get(c.modelId) ?? `#${c.modelId}`,
      epoch: c.epoch.toString(),
      state,
      deposit: c.deposit.toString(),
      redeemed: c.redeemed.toString(),
      spent: spent.toString(),
      unspent: (c.deposit > spent ? c.deposit - spent : 0n).toString(),
      royaltyBps: Number(c.royaltyBps),
      feeBps: Number(c.feeBps),
      closesAt,
    };
  });
}
