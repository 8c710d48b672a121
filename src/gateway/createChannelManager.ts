import { encodeAbiParameters, erc20Abi, keccak256, zeroAddress, type Address, type Hex, type LocalAccount } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { readChannel } from "../payments/readChannel.ts";
import { signVoucher, type SignedVoucher } from "../payments/voucher.ts";
import type { PaymentSigner } from "../payments/createPaymentSigner.ts";
import type { ChannelRecord, GatewayStore } from "./createGatewayStore.ts";

/** The id PaymentChannels gives the channel from `sender` to `provider` for `modelId`. */
export function channelIdOf(sender: Address, provider: Address, modelId: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "uint256" }], [sender, provider, modelId]));
}

/** A deposit into a payment channel: a new channel, or a top-up of an open one. */
export type ChannelDeposit =
  | { kind: "open"; provider: Address; modelId: bigint; amount: bigint }
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
};

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
};

/**
 * Opens, tops up and pays through the gateway's payment channels. Chain writes are queued one at a
 * time so concurrent requests never race on the account's nonce or open a channel twice.
 */
export function createChannelManager(options: ChannelManagerOptions) {
  const { clients, deployment, store, logger, account } = options;
  const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const deposit = options.deposit ?? 10n ** BigInt(deployment.token.decimals);
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

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

  /** Syncs a channel from the chain into the store (keeping the spent total the gateway knows). */
  const refresh = async (channelId: Hex, provider: Address, modelId: bigint): Promise<ChannelRecord | undefined> => {
    const onchain = await readChannel(clients.public, deployment.paymentChannels, channelId);
    if (onchain.sender === zeroAddress || onchain.deposit === 0n) return undefined;
    const known = store.getChannel(channelId);
    const spent = known && known.epoch === onchain.epoch ? known.spent : onchain.redeemed;
    const record = { channelId, provider, modelId, epoch: onchain.epoch, deposit: onchain.deposit, spent };
    store.putChannel(record);
    if (onchain.closesAt !== 0n) {
      throw new GotongError(`The channel to ${provider} is closing`, { code: "channel_closing", status: 409, hint: "Withdraw it after the challenge period, then a new one opens." });
    }
    return record;
  };

  return {
    /** The id of this gateway's channel to `provider` for `modelId` (open or not). */
    channelIdFor: (provider: Address, modelId: bigint): Hex => channelIdOf(options.funder?.sender ?? account.address, provider, modelId),
    /** A channel to `provider` for `modelId` with at least `needed` unspent, opening or topping up as required. */
    ensureChannel(provider: Address, modelId: bigint, needed: bigint): Promise<ChannelRecord> {
      const channelId = channelIdOf(options.funder?.sender ?? account.address, provider, modelId);
      const cached = store.getChannel(channelId);
      if (cached && cached.deposit - cached.spent >= needed) return Promise.resolve(cached);
      return serially(async () => {
        let record = await refresh(channelId, provider, modelId);
        if (record && record.deposit - record.spent >= needed) return record;
        const amount = needed > deposit ? needed : deposit;
        if (!record) {
          if (options.funder) await options.funder.deposit({ kind: "open", provider, modelId, amount });
          else await approveAndCall(amount, "open", [provider, modelId, amount]);
          logger.info("channel opened", { provider, modelId, deposit: amount });
        } else {
          if (options.funder) await options.funder.deposit({ kind: "topUp", provider, modelId, channelId, amount });
          else await approveAndCall(amount, "topUp", [channelId, amount]);
          logger.info("channel topped up", { provider, modelId, amount });
        }
        record = await refresh(channelId, provider, modelId);
        if (!record) throw new GotongError("The channel did not open", { code: "channel_open_failed", status: 502 });
        return record;
      });
    },
    /** Signs the voucher that pays for everything received so far on the channel. */
    voucherFor(channel: ChannelRecord): Promise<SignedVoucher> {
      const voucher = { channelId: channel.channelId, epoch: channel.epoch, cumulativeAmount: channel.spent };
      if (options.signer) return Promise.resolve(options.signer.signVoucher(voucher));
      return signVoucher(account, domain, voucher);
    },
    /** Forces a top-up on the next request (after a provider said the deposit is short). */
    forget(channelId: Hex) {
      const c = store.getChannel(channelId);
      if (c) store.putChannel({ ...c, deposit: c.spent });
    },
    serially,
  };
}

export type ChannelManager = ReturnType<typeof createChannelManager>;
