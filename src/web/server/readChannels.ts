import type { Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../../chain/contracts.generated.ts";
import type { GatewayStore } from "../../gateway/createGatewayStore.ts";
import { readModelNames } from "./readModelNames.ts";

/** Where a channel is in its life. */
export type ChannelState = "open" | "closing" | "withdrawable" | "withdrawn";

/**
 * One epoch of a payment channel as the explorer shows it. A channel that was withdrawn and opened
 * again has one view per epoch: the withdrawn ones keep what was deposited, paid and returned.
 * Amounts are decimal strings of token base units.
 */
export type ChannelView = {
  channelId: Hex;
  sender: Address;
  provider: Address;
  modelId: string;
  model: string;
  epoch: string;
  state: ChannelState;
  deposit: string;
  /** Redeemed by the provider on-chain so far in this epoch (all it was paid, once withdrawn). */
  redeemed: string;
  /** Spent according to this gateway's checked receipts (at least `redeemed` once settled). */
  spent: string;
  /** What withdrawing would return if the provider redeemed nothing more: deposit − spent (or − redeemed); 0 once withdrawn. */
  unspent: string;
  /** What withdrawing returned to the sender (deposit − redeemed), once withdrawn. */
  refunded: string | null;
  royaltyBps: number;
  feeBps: number;
  /** When the challenge period ends (unix seconds), 0 when not closing. */
  closesAt: number;
  /** When the rest was withdrawn (unix seconds), 0 while not withdrawn. */
  withdrawnAt: number;
};

/** One epoch's history, folded from the contract's events in order. */
type Epoch = {
  epoch: bigint;
  deposit: bigint;
  redeemed: bigint;
  royaltyBps: number;
  feeBps: number;
  closesAt: bigint;
  refund?: bigint;
  withdrawnBlock?: bigint;
};

/**
 * The channels `sender` has opened (from `ChannelOpened`), one view per epoch: the current epoch
 * read as it is now, with this gateway's own spent total where it pays through it, and each earlier,
 * withdrawn epoch rebuilt from the contract's events (opened, topped up, redeemed, withdrawn), so a
 * channel's history stays after its deposit came back. Newest epoch first within a channel.
 *
 * @example const channels = await readChannels(client, deployment, account, store);
 */
export async function readChannels(client: PublicClient, deployment: Deployment, sender: Address, store: GatewayStore): Promise<ChannelView[]> {
  const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const range = { fromBlock: BigInt(deployment.startBlock), toBlock: "latest" } as const;
  const opened = await client.getContractEvents({ ...pc, eventName: "ChannelOpened", args: { sender }, ...range });
  const ids = [...new Set(opened.map((log) => log.args.channelId as Hex))];
  if (ids.length === 0) return [];
  const [now, current, toppedUp, redeemed, closing, withdrawn] = await Promise.all([
    client.getBlock({ blockTag: "latest" }).then((b) => Number(b.timestamp)),
    Promise.all(ids.map((channelId) => client.readContract({ ...pc, functionName: "getChannel", args: [channelId] }))),
    client.getContractEvents({ ...pc, eventName: "ChannelToppedUp", args: { sender }, ...range }),
    client.getContractEvents({ ...pc, eventName: "VoucherRedeemed", args: { channelId: ids }, ...range }),
    client.getContractEvents({ ...pc, eventName: "ChannelCloseStarted", args: { sender }, ...range }),
    client.getContractEvents({ ...pc, eventName: "ChannelWithdrawn", args: { sender }, ...range }),
  ]);

  // Every event of a channel in chain order, folded into its epochs.
  type Ordered = { blockNumber: bigint; logIndex: number; apply(epochs: Epoch[]): void };
  const byChannel = new Map<Hex, Ordered[]>(ids.map((id) => [id, []]));
  const push = (channelId: unknown, log: { blockNumber: bigint; logIndex: number }, apply: (epochs: Epoch[]) => void) =>
    byChannel.get(channelId as Hex)?.push({ blockNumber: log.blockNumber, logIndex: log.logIndex, apply });
  const last = (epochs: Epoch[]) => epochs[epochs.length - 1];
  for (const log of opened) {
    const a = log.args;
    push(a.channelId, log, (epochs) => epochs.push({ epoch: BigInt(a.epoch!), deposit: a.deposit!, redeemed: 0n, royaltyBps: Number(a.royaltyBps), feeBps: Number(a.feeBps), closesAt: 0n }));
  }
  for (const log of toppedUp) push(log.args.channelId, log, (epochs) => void (last(epochs) && (last(epochs)!.deposit = log.args.deposit!)));
  for (const log of redeemed) push(log.args.channelId, log, (epochs) => void (last(epochs) && (last(epochs)!.redeemed += log.args.amount!)));
  for (const log of closing) push(log.args.channelId, log, (epochs) => void (last(epochs) && (last(epochs)!.closesAt = BigInt(log.args.closesAt!))));
  for (const log of withdrawn) {
    push(log.args.channelId, log, (epochs) => {
      const e = last(epochs);
      if (e && e.refund === undefined) Object.assign(e, { refund: log.args.refund!, withdrawnBlock: log.blockNumber });
    });
  }
  const history = new Map<Hex, Epoch[]>();
  for (const [channelId, events] of byChannel) {
    const epochs: Epoch[] = [];
    for (const e of events.sort((x, y) => (x.blockNumber === y.blockNumber ? x.logIndex - y.logIndex : x.blockNumber < y.blockNumber ? -1 : 1))) e.apply(epochs);
    history.set(channelId, epochs);
  }

  const withdrawnBlocks = [...new Set(withdrawn.map((log) => log.blockNumber))];
  const [names, blockTimes] = await Promise.all([
    readModelNames(client, deployment, current.map((c) => c.modelId)),
    Promise.all(withdrawnBlocks.map((blockNumber) => client.getBlock({ blockNumber }).then((b) => [blockNumber, Number(b.timestamp)] as const))),
  ]);
  const timeOf = new Map(blockTimes);

  return ids.flatMap((channelId, i) => {
    const c = current[i]!;
    const base = { channelId, sender: c.sender, provider: c.provider, modelId: c.modelId.toString(), model: names.get(c.modelId) ?? `#${c.modelId}` };
    const views: ChannelView[] = [];
    if (c.deposit !== 0n) {
      const closesAt = Number(c.closesAt);
      const state: ChannelState = closesAt === 0 ? "open" : now >= closesAt ? "withdrawable" : "closing";
      const known = store.getChannel(channelId);
      const spent = known && known.epoch === BigInt(c.epoch) && known.spent > c.redeemed ? known.spent : c.redeemed;
      views.push({
        ...base,
        epoch: c.epoch.toString(),
        state,
        deposit: c.deposit.toString(),
        redeemed: c.redeemed.toString(),
        spent: spent.toString(),
        unspent: (c.deposit > spent ? c.deposit - spent : 0n).toString(),
        refunded: null,
        royaltyBps: Number(c.royaltyBps),
        feeBps: Number(c.feeBps),
        closesAt,
        withdrawnAt: 0,
      });
    }
    const past = (history.get(channelId) ?? []).filter((e) => e.refund !== undefined && e.epoch < BigInt(c.epoch)).reverse();
    for (const e of past) {
      views.push({
        ...base,
        epoch: e.epoch.toString(),
        state: "withdrawn",
        // The contract refunds deposit − redeemed: both sides of that are on record.
        deposit: (e.redeemed + e.refund!).toString(),
        redeemed: e.redeemed.toString(),
        spent: e.redeemed.toString(),
        unspent: "0",
        refunded: e.refund!.toString(),
        royaltyBps: e.royaltyBps,
        feeBps: e.feeBps,
        closesAt: Number(e.closesAt),
        withdrawnAt: timeOf.get(e.withdrawnBlock!) ?? 0,
      });
    }
    if (views.length === 0) {
      // Withdrawn with no events in range (a deployment file with a later start block): what the contract still says.
      views.push({ ...base, epoch: c.epoch.toString(), state: "withdrawn", deposit: "0", redeemed: "0", spent: "0", unspent: "0", refunded: null, royaltyBps: Number(c.royaltyBps), feeBps: Number(c.feeBps), closesAt: 0, withdrawnAt: 0 });
    }
    return views;
  });
}
