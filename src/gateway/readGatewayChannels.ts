import { zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { GotongError } from "../common/errors.ts";
import { readChannel } from "../payments/readChannel.ts";
import type { ChannelRecord, GatewayStore } from "./createGatewayStore.ts";

/**
 * Where the gateway's epoch of a channel is in its life: `open`; `closing` (the sender started a
 * close, the provider can still redeem until `closesAt`); `withdrawable` (the challenge period is
 * over, nothing more can be redeemed); `closed` (withdrawn: the chain has moved to a later epoch);
 * `missing` (the chain has no such channel: another deployment, or a chain that was reset).
 */
export type GatewayChannelState = "open" | "closing" | "withdrawable" | "closed" | "missing";

/** One channel the gateway pays through, its own books beside the chain's. Amounts in base units. */
export type GatewayChannel = {
  channelId: Hex;
  /** Who escrowed the deposit: the gateway's account, or the agent wallet it pays for. */
  sender: Address;
  provider: Address;
  modelId: bigint;
  /** The epoch the gateway's record is for (the chain's, unless it was withdrawn since). */
  epoch: bigint;
  state: GatewayChannelState;
  /** When the challenge period ends (unix seconds, chain time); undefined unless closing or withdrawable. */
  closesAt: bigint | undefined;
  /** Escrowed in this epoch, as the chain holds it (for a closed epoch: redeemed + refund). */
  deposit: bigint;
  /** What the gateway has accepted receipts for in this epoch: its own record. */
  spent: bigint;
  /** What the provider has redeemed on-chain in this epoch. */
  redeemed: bigint;
};

/** Every channel in a gateway's store, read against the chain, with totals. */
export type GatewayChannels = {
  /** The chain's time when read (latest block's timestamp, unix seconds). */
  chainTime: bigint;
  channels: GatewayChannel[];
  totals: { deposit: bigint; spent: bigint; redeemed: bigint };
};

/**
 * Reads each channel a gateway's store holds against the PaymentChannels contract: the gateway's
 * `spent` next to the chain's `deposit` and `redeemed`, so the money identity can be checked by
 * hand (after the gateway settles and the provider redeems, spent = redeemed). A channel withdrawn
 * since the gateway last used it is read back from its events.
 *
 * @param client A reader for the deployment's chain.
 * @param deployment Where PaymentChannels lives.
 * @param store The gateway's store (only read).
 * @returns The channels, oldest id first, with their totals.
 * @throws GotongError `chain_unreachable` when the chain does not answer, `chain_mismatch` when it is another chain.
 * @example const { channels, totals } = await readGatewayChannels(reader, deployment, store);
 */
export async function readGatewayChannels(client: PublicClient, deployment: Deployment, store: GatewayStore): Promise<GatewayChannels> {
  let chainTime: bigint;
  try {
    const [chainId, block] = await Promise.all([client.getChainId(), client.getBlock({ blockTag: "latest" })]);
    if (chainId !== deployment.chainId) {
      throw new GotongError(`The chain at ${deployment.rpcUrl} has id ${chainId}, not the deployment's ${deployment.chainId}`, {
        code: "chain_mismatch",
        hint: "Pass the deployment file of the network the gateway paid on with --deployment FILE.",
      });
    }
    chainTime = block.timestamp;
  } catch (cause) {
    if (cause instanceof GotongError) throw cause;
    throw new GotongError(`Cannot reach the chain at ${deployment.rpcUrl}`, {
      code: "chain_unreachable",
      retryable: true,
      status: 503,
      hint: "Start the local chain with `gotong devnet` (or `gotong up`), or check the rpcUrl of the deployment file.",
      cause,
    });
  }
  const records = store.listChannels().sort((a, b) => (a.channelId < b.channelId ? -1 : 1));
  const channels = await Promise.all(records.map((record) => readOne(client, deployment, record, chainTime)));
  const totals = { deposit: 0n, spent: 0n, redeemed: 0n };
  for (const c of channels) {
    totals.deposit += c.deposit;
    totals.spent += c.spent;
    totals.redeemed += c.redeemed;
  }
  return { chainTime, channels, totals };
}

async function readOne(client: PublicClient, deployment: Deployment, record: ChannelRecord, now: bigint): Promise<GatewayChannel> {
  const base = { channelId: record.channelId, provider: record.provider, modelId: record.modelId, epoch: record.epoch, spent: record.spent };
  const onchain = await readChannel(client, deployment.paymentChannels, record.channelId);
  if (onchain.sender === zeroAddress) return { ...base, sender: zeroAddress, state: "missing", closesAt: undefined, deposit: 0n, redeemed: 0n };
  if (onchain.epoch === record.epoch && onchain.deposit !== 0n) {
    const closing = onchain.closesAt !== 0n;
    return {
      ...base,
      sender: onchain.sender,
      state: !closing ? "open" : now < onchain.closesAt ? "closing" : "withdrawable",
      closesAt: closing ? onchain.closesAt : undefined,
      deposit: onchain.deposit,
      redeemed: onchain.redeemed,
    };
  }
  // Withdrawn (the chain resets deposit and redeemed and moves to the next epoch): the gateway's
  // epoch lives on only in the events.
  const past = await readWithdrawnEpoch(client, deployment, record.channelId, record.epoch);
  return { ...base, sender: onchain.sender, state: "closed", closesAt: undefined, deposit: past.deposit, redeemed: past.redeemed };
}

/** Deposit and redeemed of a withdrawn epoch, from its ChannelOpened … ChannelWithdrawn events. */
async function readWithdrawnEpoch(client: PublicClient, deployment: Deployment, channelId: Hex, epoch: bigint): Promise<{ deposit: bigint; redeemed: bigint }> {
  const scan = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, args: { channelId }, fromBlock: BigInt(deployment.startBlock), toBlock: "latest" } as const;
  const [opened, withdrawn, redeems] = await Promise.all([
    client.getContractEvents({ ...scan, eventName: "ChannelOpened" }),
    client.getContractEvents({ ...scan, eventName: "ChannelWithdrawn" }),
    client.getContractEvents({ ...scan, eventName: "VoucherRedeemed" }),
  ]);
  const start = opened.find((log) => log.args.epoch === epoch);
  const end = withdrawn.find((log) => log.args.nextEpoch === epoch + 1n);
  if (!start || !end) {
    throw new GotongError(`The chain has no record of epoch ${epoch} of channel ${channelId}`, {
      code: "channel_history_missing",
      hint: "The gateway's store and the deployment disagree: pass the deployment the gateway paid on with --deployment FILE.",
    });
  }
  const at = (log: { blockNumber: bigint | null; logIndex: number | null }) => (log.blockNumber ?? 0n) * 1_000_000n + BigInt(log.logIndex ?? 0);
  let redeemed = 0n;
  for (const log of redeems) if (at(log) > at(start) && at(log) < at(end)) redeemed += log.args.amount ?? 0n;
  return { deposit: redeemed + (end.args.refund ?? 0n), redeemed };
}
