import { erc20Abi, zeroAddress, type Address, type Hex, type LocalAccount } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { chainTime } from "../funding/chainTime.ts";
import { readChannel } from "../payments/readChannel.ts";
import { channelIdOf } from "../protocol/channelId.ts";
import { signVoucher, type SignedVoucher } from "../protocol/voucher.ts";
import type { PaymentSigner } from "../payments/createPaymentSigner.ts";
import type { ChannelRecord, GatewayStore } from "./createGatewayStore.ts";
import { readWithdrawal } from "./withdrawChannel.ts";

/**
 * A deposit into a payment channel: a new channel (under `salt`, see PaymentChannels' `open`), or
 * a top-up of an open one.
 */
export type ChannelDeposit =
  | { kind: "open"; provider: Address; modelId: bigint; salt: bigint; amount: bigint }
  | { kind: "topUp"; provider: Address; modelId: bigint; channelId: Hex; amount: bigint };

/**
 * Who a gateway's channels are from and how their deposits are made. The default is the gateway's
 * own account (approve, then open or top up). An agent wallet supplies its own: the wallet contract
 * is the channel's sender, deposits go through its spending policy, and vouchers are signed by the
 * agent key (pass it as `signer`), which the wallet vouches for through ERC-1271.
 */
export type ChannelFunder = {
  /** The channel sender: the account or contract the deposits come from. */
  sender: Address;
  /** Escrows the deposit; resolves once it is mined. */
  deposit(request: ChannelDeposit): Promise<void>;
  /** Starts closing a channel of `sender` (`startClose`); resolves once it is mined. */
  close(channelId: Hex): Promise<{ hash: Hex }>;
  /** Withdraws what is left in a closed channel of `sender` after its challenge period; resolves once mined. */
  withdraw(channelId: Hex): Promise<{ hash: Hex; refund: bigint }>;
};

/** The ChannelFunder of a plain account: it approves and opens, tops up, closes and withdraws itself. */
function accountFunder(clients: ChainClients, account: LocalAccount, deployment: Deployment): ChannelFunder {
  const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const approveAndCall = async (amount: bigint, functionName: "open" | "topUp", args: readonly unknown[]) => {
    const balance = await clients.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [account.address] });
    if (balance < amount) {
      throw new GotongError(`The gateway account ${account.address} holds ${balance} ${deployment.token.symbol} base units, less than the ${amount} needed for a channel deposit`, {
        code: "insufficient_balance",
        status: 402,
        hint: "Fund the gateway account, or lower the deposit with --deposit.",
      });
    }
    await writeAndWait(clients, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [deployment.paymentChannels, amount] });
    await writeAndWait(clients, { ...pc, functionName, args });
  };
  return {
    sender: account.address,
    deposit: (request) =>
      request.kind === "open"
        ? approveAndCall(request.amount, "open", [request.provider, request.modelId, request.salt, request.amount])
        : approveAndCall(request.amount, "topUp", [request.channelId, request.amount]),
    async close(channelId) {
      const { hash } = await writeAndWait(clients, { ...pc, functionName: "startClose", args: [channelId] });
      return { hash };
    },
    async withdraw(channelId) {
      const { hash, receipt } = await writeAndWait(clients, { ...pc, functionName: "withdraw", args: [channelId] });
      return { hash, refund: readWithdrawal(deployment, receipt, channelId, account.address).refund };
    },
  };
}

export type ChannelManagerOptions = {
  clients: ChainClients;
  account: LocalAccount;
  deployment: Deployment;
  store: GatewayStore;
  logger: Logger;
  /** Signs vouchers fast (libsecp256k1); without it the account signs through viem. */
  signer?: PaymentSigner;
  /** Deposit for a new channel and for each top-up, in token base units. Default 1 token. */
  deposit?: bigint;
  /** Who the channels are from and how deposits are made. Default: `account`, approving then opening. */
  funder?: ChannelFunder;
  /**
   * How many channels (under different salts) the gateway may use to one provider for one model,
   * so that as many of its requests run there at once (each channel carries one at a time; see
   * createChannelLanes). Each is opened only when every open one is busy. Default 1.
   */
  channelsPerPair?: number;
};

/**
 * Opens, tops up, closes and pays through the gateway's payment channels. Chain writes are queued
 * one at a time so concurrent requests never race on the account's nonce or open a channel twice.
 *
 * A pair (provider, model) is paid through one channel at a time, its current one. A channel that
 * is closing cannot take new requests (the provider refuses them) nor a top-up, so when the current
 * channel turns out to be closing, `ensureChannel` moves the pair to another of its channels (under
 * another salt: one that is open or was withdrawn, else a new salt) and carries on there, while the
 * provider redeems the closing one until its challenge period ends. A current channel whose
 * challenge period is already over is withdrawn and reopened in a fresh epoch instead.
 */
export function createChannelManager(options: ChannelManagerOptions) {
  const { clients, deployment, store, logger, account } = options;
  const width = options.channelsPerPair ?? 1;
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`channelsPerPair must be a whole number of at least 1, not ${width}`);
  const funder = options.funder ?? accountFunder(clients, account, deployment);
  const deposit = options.deposit ?? 10n ** BigInt(deployment.token.decimals);
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };
  /** Channels known to be closing, with the end of their challenge period (unix seconds, chain time). */
  const closingUntil = new Map<Hex, bigint>();
  /**
   * The salt of the channel each lane of a pair pays through now (key `provider:model#lane`), once
   * known. Lane 0 starts on the store's most recently used channel, the others on the pair's other
   * known channels, then on new salts: no two lanes start on one channel.
   */
  const currentSalt = new Map<string, bigint>();
  /** The lane each channel id was last handed out for (for a retry that must stay on it). */
  const laneOfChannel = new Map<Hex, number>();
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  const checkLane = (lane: number): number => {
    if (!Number.isInteger(lane) || lane < 0 || lane >= width) throw new RangeError(`lane ${lane} is not one of this gateway's ${width} channels per provider and model`);
    return lane;
  };
  const pairKey = (provider: Address, modelId: bigint) => `${provider.toLowerCase()}:${modelId}`;
  // Every request asks for its channel's id: the ABI encoding and keccak are done once per channel.
  const ids = new Map<string, Hex>();
  const idOf = (provider: Address, modelId: bigint, salt: bigint): Hex => {
    const key = `${pairKey(provider, modelId)}:${salt}`;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = channelIdOf(funder.sender, provider, modelId, salt)));
    return id;
  };
  const laneKey = (provider: Address, modelId: bigint, lane: number) => `${pairKey(provider, modelId)}#${lane}`;
  /** The salts the pair's lanes other than `lane` pay through now. */
  const takenByOthers = (provider: Address, modelId: bigint, lane: number): Set<bigint> => {
    const taken = new Set<bigint>();
    for (let other = 0; other < width; other++) {
      const salt = other === lane ? undefined : currentSalt.get(laneKey(provider, modelId, other));
      if (salt !== undefined) taken.add(salt);
    }
    return taken;
  };
  const saltOf = (provider: Address, modelId: bigint, lane: number): bigint => {
    const key = laneKey(provider, modelId, lane);
    let salt = currentSalt.get(key);
    if (salt === undefined) {
      const known = store.listChannelsFor(provider, modelId).map((c) => c.salt);
      const taken = takenByOthers(provider, modelId, lane);
      salt = known.find((s) => !taken.has(s)) ?? [...known, ...taken].reduce((max, s) => (s >= max ? s + 1n : max), 0n);
      currentSalt.set(key, salt);
    }
    return salt;
  };
  /**
   * Where a pair goes when its current channel (`from`) is closing: the lowest salt of its other
   * channels not known to be closing (open, or withdrawn and so reopenable), else one above every
   * salt it has used.
   */
  const successorSalt = (provider: Address, modelId: bigint, from: bigint, lane: number): bigint => {
    const known = store.listChannelsFor(provider, modelId);
    const taken = takenByOthers(provider, modelId, lane);
    const usable = known.filter((c) => c.salt !== from && !taken.has(c.salt) && !closingUntil.has(c.channelId)).map((c) => c.salt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (usable.length > 0) return usable[0]!;
    return [...known.map((c) => c.salt), ...taken].reduce((max, s) => (s > max ? s : max), from) + 1n;
  };

  /**
   * Syncs a channel from the chain into the store (keeping the spent total the gateway knows). A
   * closing channel is recorded with nothing left to spend (deposit = spent), so a request that
   * still holds its id reads it as short and asks `ensureChannel` again.
   */
  const refresh = async (channelId: Hex, provider: Address, modelId: bigint, salt: bigint): Promise<ChannelRecord | undefined> => {
    const onchain = await readChannel(clients.public, deployment.paymentChannels, channelId);
    if (onchain.sender === zeroAddress || onchain.deposit === 0n) {
      closingUntil.delete(channelId);
      return undefined;
    }
    const known = store.getChannel(channelId);
    const spent = known && known.epoch === onchain.epoch ? known.spent : onchain.redeemed;
    const closing = onchain.closesAt !== 0n;
    const record = { channelId, provider, modelId, salt, epoch: onchain.epoch, deposit: closing ? spent : onchain.deposit, spent };
    store.putChannel(record);
    if (closing) closingUntil.set(channelId, onchain.closesAt);
    else closingUntil.delete(channelId);
    return record;
  };

  /** Withdraws a channel whose challenge period is over (inside the queue). */
  const withdrawNow = async (channelId: Hex) => {
    const { refund, hash } = await funder.withdraw(channelId);
    closingUntil.delete(channelId);
    logger.info("channel withdrawn", { channelId, refund, hash });
    return refund;
  };

  /** The current channel of a pair, with `needed` unspent (inside the queue). */
  const ensureNow = async (provider: Address, modelId: bigint, needed: bigint, lane: number): Promise<ChannelRecord> => {
    let salt = saltOf(provider, modelId, lane);
    for (;;) {
      const channelId = idOf(provider, modelId, salt);
      let record = await refresh(channelId, provider, modelId, salt);
      const closesAt = closingUntil.get(channelId);
      if (record && closesAt !== undefined) {
        if ((await chainTime(clients.public)) < closesAt) {
          // The provider may redeem it until its challenge period ends: serve on another channel.
          const next = successorSalt(provider, modelId, salt, lane);
          logger.info("channel closing: moving the pair to a fresh channel", { channelId, closesAt, provider, modelId, lane, salt: next });
          salt = next;
          currentSalt.set(laneKey(provider, modelId, lane), salt);
          continue;
        }
        await withdrawNow(channelId);
        record = undefined;
      }
      if (record && record.deposit - record.spent >= needed) return record;
      const amount = needed > deposit ? needed : deposit;
      if (!record) {
        await funder.deposit({ kind: "open", provider, modelId, salt, amount });
        logger.info("channel opened", { provider, modelId, salt, deposit: amount });
      } else {
        await funder.deposit({ kind: "topUp", provider, modelId, channelId, amount });
        logger.info("channel topped up", { provider, modelId, salt, amount });
      }
      record = await refresh(channelId, provider, modelId, salt);
      if (!record) throw new GotongError("The channel did not open", { code: "channel_open_failed", status: 502 });
      return record;
    }
  };

  return {
    /**
     * The id of the channel this gateway pays `provider` for `modelId` through now (open or not yet):
     * the one `ensureChannel` returns, unless it finds that channel closing and moves on.
     */
    channelIdFor(provider: Address, modelId: bigint, lane = 0): Hex {
      const id = idOf(provider, modelId, saltOf(provider, modelId, checkLane(lane)));
      laneOfChannel.set(id, lane);
      return id;
    },
    /** How many channels the gateway may use to one provider for one model (see `channelsPerPair`). */
    channelsPerPair: width,
    /** The lane a channel id was handed out for by `channelIdFor` (0 for one never handed out). */
    laneOf: (channelId: Hex): number => laneOfChannel.get(channelId) ?? 0,
    /** Whether the channel is recorded open with something left to spend (opening another costs a transaction). */
    isOpen(channelId: Hex): boolean {
      const c = store.getChannel(channelId);
      return c !== undefined && c.deposit > c.spent && !closingUntil.has(channelId);
    },
    /** Who the channels are from: the gateway's account, or the agent wallet it pays for. */
    sender: funder.sender,
    /**
     * The pair's current channel to `provider` for `modelId` with at least `needed` unspent, opening
     * or topping up as required. A closing channel is left to its challenge period and the pair
     * served on a fresh channel; one whose period is over is withdrawn and reopened in a new epoch.
     */
    ensureChannel(provider: Address, modelId: bigint, needed: bigint, lane = 0): Promise<ChannelRecord> {
      const channelId = idOf(provider, modelId, saltOf(provider, modelId, checkLane(lane)));
      const cached = store.getChannel(channelId);
      if (cached && !closingUntil.has(channelId) && cached.deposit - cached.spent >= needed) return Promise.resolve(cached);
      return serially(() => ensureNow(provider, modelId, needed, lane));
    },
    /** Signs the voucher that pays for everything received so far on the channel. */
    voucherFor(channel: ChannelRecord): Promise<SignedVoucher> {
      const voucher = { channelId: channel.channelId, epoch: channel.epoch, cumulativeAmount: channel.spent };
      if (options.signer) return Promise.resolve(options.signer.signVoucher(voucher));
      return signVoucher(account, domain, voucher);
    },
    /** Forces a fresh read from the chain on the next request (a provider said the deposit is short, or the channel is closing). */
    forget(channelId: Hex) {
      const c = store.getChannel(channelId);
      if (c) store.putChannel({ ...c, deposit: c.spent });
    },
    /** When the channel's challenge period ends (chain time), if it is known to be closing. */
    closingUntil: (channelId: Hex): bigint | undefined => closingUntil.get(channelId),
    /** Starts closing one of the gateway's channels (queued with its other chain writes). */
    close(channelId: Hex): Promise<{ hash: Hex; closesAt: bigint }> {
      return serially(async () => {
        const { hash } = await funder.close(channelId);
        const { closesAt } = await readChannel(clients.public, deployment.paymentChannels, channelId);
        closingUntil.set(channelId, closesAt);
        logger.info("channel closing", { channelId, closesAt, hash });
        return { hash, closesAt };
      });
    },
    /** Withdraws what is left in one of the gateway's closed channels (queued with its other chain writes). */
    withdraw(channelId: Hex): Promise<bigint> {
      return serially(() => withdrawNow(channelId));
    },
    serially,
  };
}

export type ChannelManager = ReturnType<typeof createChannelManager>;
