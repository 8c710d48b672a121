import {
  BaseError,
  ContractFunctionRevertedError,
  TransactionReceiptNotFoundError,
  WaitForTransactionReceiptTimeoutError,
  encodeFunctionData,
  keccak256,
  parseEventLogs,
  toFunctionSelector,
  type Address,
  type Hex,
  type TransactionReceipt,
} from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { decodeContractError } from "../chain/decodeContractError.ts";
import type { Logger } from "../common/logger.ts";
import { readChannel, type OnchainChannel } from "../payments/readChannel.ts";
import type { SignedVoucher, Voucher } from "../protocol/voucher.ts";
import type { InFlightRedeem, ProviderStore, QuarantinedVoucher } from "./createProviderStore.ts";
import { redeemFailedError } from "./errors.ts";

export type RedeemerOptions = {
  clients: ChainClients;
  paymentChannels: Address;
  store: ProviderStore;
  logger: Logger;
  /** How often stored vouchers are redeemed. Default 60 s; keep it well under the challenge period. */
  intervalMs?: number;
  /** Smallest unredeemed total worth a transaction, unless a channel is closing. Default 0. */
  minAmount?: bigint;
  /** Most vouchers in one transaction. Default 100; closing channels go in the first. */
  maxBatch?: number;
  /** Longest wait before a held-back voucher that may pay again is checked again. Default 1 hour. */
  maxRetryDelayMs?: number;
  /** How long a run waits for its transaction to be mined before leaving it to the next run. Default 120 s. */
  receiptTimeoutMs?: number;
};

/** A voucher paid on-chain, as the contract's `VoucherRedeemed` event reports it (base units). */
export type RedeemedVoucher = {
  channelId: Hex;
  epoch: bigint;
  cumulativeAmount: bigint;
  /** What this redemption paid: royalty + fee + providerShare, exactly. */
  amount: bigint;
  providerShare: bigint;
  royalty: bigint;
  fee: bigint;
  transactionHash: Hex;
};

/** A voucher not checked this run because the chain could not be asked; it is tried next run. */
export type DeferredVoucher = { channelId: Hex; epoch: bigint; cumulativeAmount: bigint; error: string };

export type RedeemResult = {
  /** The first redeem transaction of this run (closing channels are in it), if any. */
  transactionHash: Hex | undefined;
  /** Every redeem transaction mined during this run, in order (one from an earlier run included). */
  transactionHashes: Hex[];
  /** How many vouchers paid. */
  channels: number;
  /** What they paid in total, in base units. */
  amount: bigint;
  redeemed: RedeemedVoucher[];
  /** Vouchers this run found the chain would not pay, now held back (quarantined) with the reason. */
  skipped: QuarantinedVoucher[];
  /** Every voucher held back now, from this run and earlier ones. */
  quarantined: QuarantinedVoucher[];
  deferred: DeferredVoucher[];
  /** Redeem transactions sent and not mined yet: checked (and rebroadcast, never re-signed) next run. */
  pending: Hex[];
};

const abi = PaymentChannelsArtifact.abi;

/** PaymentChannels' custom errors by selector: what a `VoucherSkipped` reason names. */
const errorNames = new Map<Hex, string>(
  abi.flatMap((item) => (item.type === "error" ? [[toFunctionSelector(`${item.name}(${item.inputs.map((i) => i.type).join(",")})`), item.name] as [Hex, string]] : [])),
);

/** Refusals after which a voucher can never pay, whatever anyone does. */
const PERMANENT = new Set(["ChannelClosed", "NotChannelProvider"]);

/**
 * Redeems the provider's stored vouchers on-chain, many channels per `redeemBatch` transaction,
 * closing channels first. It runs on start (so vouchers accepted before a crash are paid), on a
 * timer, and on demand.
 *
 * One counterparty cannot block the others' pay: every voucher is checked against the chain first
 * (epoch, challenge period, provider, then the whole batch, signatures included, simulated through
 * the contract, and each voucher on its own when the batch would not pay in full), and a voucher
 * that would not pay is held back (quarantined) with the contract's reason instead of being sent.
 * A voucher that can never pay is not tried again; one that might (a paused agent wallet) is
 * re-checked, by simulation only, with a growing delay, and at once when a higher voucher arrives.
 * The contract itself skips what still fails between the check and the block.
 *
 * A transaction is signed once and recorded before it is broadcast; until it is mined the same
 * bytes are rebroadcast, never a second transaction, so an RPC fault cannot lose or double-send a
 * redeem (and a voucher can never pay twice: it is cumulative).
 */
export function createRedeemer(options: RedeemerOptions) {
  const { clients, store, logger, paymentChannels } = options;
  const interval = options.intervalMs ?? 60_000;
  const maxBatch = Math.max(1, options.maxBatch ?? 100);
  const maxRetryDelay = options.maxRetryDelayMs ?? 3_600_000;
  const receiptTimeout = options.receiptTimeoutMs ?? 120_000;
  const me = clients.account.address;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<RedeemResult> | undefined;

  type Candidate = { voucher: SignedVoucher; closesAt: bigint; expected: bigint };

  const short = (id: Hex) => id.slice(0, 10);
  const plain = (v: Voucher): Voucher => ({ channelId: v.channelId, epoch: v.epoch, cumulativeAmount: v.cumulativeAmount });

  /** Holds a voucher back with the contract's reason, re-checked after a delay that doubles each time (never when permanent). */
  function hold(voucher: Voucher, reason: string, permanent: boolean, result: RedeemResult): void {
    const previous = store.getQuarantine(voucher.channelId, voucher.epoch);
    const attempts = previous && previous.cumulativeAmount === voucher.cumulativeAmount ? previous.attempts + 1 : 1;
    const retryAt = permanent ? undefined : Date.now() + Math.min(interval * 2 ** (attempts - 1), maxRetryDelay);
    const entry = store.quarantineVoucher({ ...plain(voucher), reason, permanent, retryAt });
    result.skipped.push(entry);
    logger.warn("voucher held back: the chain would not pay it", {
      channel: short(voucher.channelId),
      epoch: voucher.epoch,
      amount: voucher.cumulativeAmount,
      reason,
      permanent,
      retryAt: retryAt === undefined ? "never" : new Date(retryAt).toISOString(),
    });
  }

  /** Why the contract would refuse `voucher` on `channel` at chain time `now`, in its own order. */
  function refusal(channel: OnchainChannel, voucher: Voucher, now: bigint): { reason: string; permanent: boolean } | undefined {
    const moved = channel.epoch > voucher.epoch; // withdrawn: that epoch can never pay again
    if (channel.deposit === 0n) return { reason: "ChannelNotOpen", permanent: moved };
    if (channel.provider.toLowerCase() !== me.toLowerCase()) return { reason: "NotChannelProvider", permanent: true };
    if (channel.epoch !== voucher.epoch) return { reason: "WrongEpoch", permanent: moved };
    if (channel.closesAt !== 0n && now >= channel.closesAt) return { reason: "ChannelClosed", permanent: true };
    return undefined;
  }

  /** The custom error a simulated call reverted with, or undefined when it did not revert (an RPC fault). */
  function revertReason(error: unknown): string | undefined {
    if (!(error instanceof BaseError)) return undefined;
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (!revert) return undefined;
    // Not one of PaymentChannels' own errors (a sender contract's, bubbled up): named by the decoder of every contract's errors.
    return revert.data?.errorName ?? decodeContractError(error)?.errorName ?? revert.signature ?? "Reverted";
  }

  const batchArgs = (items: Candidate[]) => [items.map((c) => plain(c.voucher)), items.map((c) => c.voucher.signature)] as const;

  /** Whether the contract, simulated now, pays every item in full. */
  async function batchPaysInFull(items: Candidate[]): Promise<boolean> {
    const expected = items.reduce((sum, c) => sum + c.expected, 0n);
    try {
      const { result } = await clients.public.simulateContract({ address: paymentChannels, abi, functionName: "redeemBatch", args: batchArgs(items), account: clients.account });
      return result === expected;
    } catch (error) {
      if (revertReason(error) !== undefined) return false;
      throw error;
    }
  }

  /** Simulates each item's strict `redeem`; holds back those that would revert; returns the rest. */
  async function keepThosePaying(items: Candidate[], result: RedeemResult): Promise<Candidate[]> {
    const paying: Candidate[] = [];
    for (const item of items) {
      const { voucher } = item;
      try {
        await clients.public.simulateContract({ address: paymentChannels, abi, functionName: "redeem", args: [plain(voucher), voucher.signature], account: clients.account });
        paying.push(item);
      } catch (error) {
        const reason = revertReason(error);
        if (reason === undefined) result.deferred.push({ ...plain(voucher), error: (error as Error).message.split("\n")[0]! });
        else if (reason !== "VoucherNotIncreasing") hold(voucher, reason, PERMANENT.has(reason), result); // paid meanwhile: synced next run
      }
    }
    return paying;
  }

  /** Records what a mined redeem transaction did: pays, skips (held back), and each channel's redeemed total. */
  async function settle(tx: InFlightRedeem, receipt: TransactionReceipt, result: RedeemResult): Promise<void> {
    if (receipt.status !== "success") {
      logger.error("redeem transaction reverted; its vouchers are checked again next run", { tx: tx.hash });
      return;
    }
    const logs = receipt.logs.filter((l) => l.address.toLowerCase() === paymentChannels.toLowerCase());
    const events = parseEventLogs({ abi, logs, eventName: ["VoucherRedeemed", "VoucherSkipped"] });
    const skipped = new Map<Hex, string>();
    for (const event of events) {
      if (event.eventName === "VoucherRedeemed") {
        const { channelId, cumulativeAmount, amount, providerShare, royalty, fee } = event.args;
        const epoch = tx.vouchers.find((v) => v.channelId === channelId)?.epoch ?? 0n;
        result.redeemed.push({ channelId, epoch, cumulativeAmount, amount, providerShare, royalty, fee, transactionHash: tx.hash });
      } else {
        skipped.set(event.args.channelId, errorNames.get(event.args.reason) ?? event.args.reason);
      }
    }
    const now = (await clients.public.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
    for (const v of tx.vouchers) {
      const channel = await readChannel(clients.public, paymentChannels, v.channelId);
      if (channel.epoch === v.epoch) store.setRedeemed(v.channelId, v.epoch, channel.redeemed);
      const reason = skipped.get(v.channelId);
      if (reason === undefined) store.releaseQuarantine(v.channelId, v.epoch);
      else if (reason !== "VoucherNotIncreasing") hold(v, reason, PERMANENT.has(reason) || refusal(channel, v, now)?.permanent === true, result);
    }
    result.transactionHashes.push(tx.hash);
    result.transactionHash ??= tx.hash;
    logger.info("redeemed vouchers", { paid: events.filter((e) => e.eventName === "VoucherRedeemed").length, skipped: skipped.size, tx: tx.hash, gas: receipt.gasUsed });
  }

  async function receiptOf(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await clients.public.getTransactionReceipt({ hash });
    } catch (error) {
      if (error instanceof TransactionReceiptNotFoundError) return undefined;
      throw error;
    }
  }

  async function isKnown(hash: Hex): Promise<boolean> {
    try {
      await clients.public.getTransaction({ hash });
      return true;
    } catch {
      return false;
    }
  }

  /** Broadcasts signed bytes; a node that already has them (a retried send) is not an error. */
  async function broadcast(raw: Hex, hash: Hex): Promise<void> {
    try {
      await clients.wallet.sendRawTransaction({ serializedTransaction: raw });
    } catch (error) {
      if ((await receiptOf(hash).catch(() => undefined)) || (await isKnown(hash))) return;
      throw error;
    }
  }

  /**
   * Waits for a mined receipt; undefined when it is not seen within the timeout, or the chain
   * cannot be asked (the transaction is recorded: the next run looks for it again).
   */
  async function waitMined(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await clients.public.waitForTransactionReceipt({ hash, timeout: receiptTimeout });
    } catch (error) {
      if (!(error instanceof WaitForTransactionReceiptTimeoutError)) logger.warn("cannot read a redeem transaction's receipt", { tx: hash, error: (error as Error).message.split("\n")[0] });
      return undefined;
    }
  }

  /**
   * Settles redeem transactions left from an earlier run (or a crash): mined ones are recorded,
   * one whose nonce another transaction took is forgotten (it can never be mined), the others are
   * rebroadcast as they are. Returns false while one is still not mined: nothing new is sent then.
   */
  async function settleInFlight(result: RedeemResult): Promise<boolean> {
    for (const tx of store.inFlightRedeems()) {
      let receipt = await receiptOf(tx.hash);
      if (!receipt) {
        const used = await clients.public.getTransactionCount({ address: me, blockTag: "latest" });
        if (used > tx.nonce) {
          // Mined receipts are found above; this nonce went to another transaction.
          receipt = await receiptOf(tx.hash);
          if (!receipt) {
            logger.warn("redeem transaction was replaced; its vouchers are checked again", { tx: tx.hash, nonce: tx.nonce });
            store.removeInFlightRedeem(tx.hash);
            continue;
          }
        } else {
          await broadcast(tx.raw, tx.hash).catch((error) => logger.warn("rebroadcasting a redeem transaction failed", { tx: tx.hash, error: (error as Error).message.split("\n")[0] }));
          receipt = await waitMined(tx.hash);
        }
      }
      if (!receipt) {
        result.pending.push(tx.hash);
        return false;
      }
      await settle(tx, receipt, result);
      store.removeInFlightRedeem(tx.hash);
    }
    return true;
  }

  /** Signs, records, broadcasts and settles one `redeemBatch` of items the chain was checked to pay. */
  async function send(items: Candidate[], result: RedeemResult): Promise<boolean> {
    const data = encodeFunctionData({ abi, functionName: "redeemBatch", args: batchArgs(items) });
    const estimate = await clients.public.estimateGas({ account: clients.account, to: paymentChannels, data });
    // Headroom for state that moves before the block (a sender contract's check costing more).
    const gas = (estimate * 5n) / 4n;
    const vouchers = items.map((c) => plain(c.voucher));
    if (clients.account.type !== "local") {
      const hash = await clients.wallet.sendTransaction({ to: paymentChannels, data, gas });
      const receipt = await clients.public.waitForTransactionReceipt({ hash });
      await settle({ hash, raw: "0x", nonce: -1, vouchers, createdAt: Date.now() }, receipt, result);
      return true;
    }
    const request = await clients.wallet.prepareTransactionRequest({ to: paymentChannels, data, gas });
    const raw = await clients.wallet.signTransaction(request as never);
    const tx: InFlightRedeem = { hash: keccak256(raw), raw, nonce: request.nonce, vouchers, createdAt: Date.now() };
    store.addInFlightRedeem(tx); // before it leaves: a crash after the broadcast still finds it
    await broadcast(raw, tx.hash);
    const receipt = await waitMined(tx.hash);
    if (!receipt) {
      logger.warn("redeem transaction not mined yet; checked again next run", { tx: tx.hash });
      result.pending.push(tx.hash);
      return false;
    }
    await settle(tx, receipt, result);
    store.removeInFlightRedeem(tx.hash);
    return true;
  }

  async function redeemOnce(): Promise<RedeemResult> {
    const result: RedeemResult = { transactionHash: undefined, transactionHashes: [], channels: 0, amount: 0n, redeemed: [], skipped: [], quarantined: [], deferred: [], pending: [] };
    const finish = () => {
      result.channels = result.redeemed.length;
      result.amount = result.redeemed.reduce((sum, r) => sum + r.amount, 0n);
      result.quarantined = store.quarantined();
      return result;
    };
    if (!(await settleInFlight(result))) return finish();

    const held = new Map(store.quarantined().map((q) => [`${q.channelId}:${q.epoch}`, q]));
    const now = (await clients.public.getBlock()).timestamp;
    const candidates: Candidate[] = [];
    for (const state of store.unredeemed()) {
      const voucher = state.voucher!;
      const q = held.get(`${state.channelId}:${state.epoch}`);
      // Held back, and no higher voucher since: wait for its retry time (never, when permanent).
      if (q && voucher.cumulativeAmount <= q.cumulativeAmount && (q.permanent || (q.retryAt ?? Infinity) > Date.now())) continue;
      let channel: OnchainChannel;
      try {
        channel = await readChannel(clients.public, paymentChannels, state.channelId);
      } catch (error) {
        result.deferred.push({ ...plain(voucher), error: (error as Error).message.split("\n")[0]! });
        continue;
      }
      const refused = refusal(channel, voucher, now);
      if (refused) {
        hold(voucher, refused.reason, refused.permanent, result);
        continue;
      }
      const payable = voucher.cumulativeAmount < channel.deposit ? voucher.cumulativeAmount : channel.deposit;
      if (payable <= channel.redeemed) {
        store.setRedeemed(state.channelId, state.epoch, channel.redeemed);
        if (q) store.releaseQuarantine(state.channelId, state.epoch);
        continue;
      }
      candidates.push({ voucher, closesAt: channel.closesAt, expected: payable - channel.redeemed });
    }

    // Closing channels first, soonest deadline first; then the largest amounts.
    const closing = (c: Candidate) => c.closesAt !== 0n;
    candidates.sort((a, b) => {
      if (closing(a) !== closing(b)) return closing(a) ? -1 : 1;
      if (closing(a) && a.closesAt !== b.closesAt) return a.closesAt < b.closesAt ? -1 : 1;
      return a.expected === b.expected ? 0 : a.expected > b.expected ? -1 : 1;
    });
    const total = candidates.reduce((sum, c) => sum + c.expected, 0n);
    if (candidates.length === 0 || (!candidates.some(closing) && total < (options.minAmount ?? 0n))) return finish();

    for (let i = 0; i < candidates.length; i += maxBatch) {
      let items = candidates.slice(i, i + maxBatch);
      if (!(await batchPaysInFull(items))) items = await keepThosePaying(items, result);
      if (items.length === 0) continue;
      if (!(await send(items, result))) break; // not mined yet: the next run settles it first
    }
    return finish();
  }

  const redeemNow = (): Promise<RedeemResult> => {
    // What escapes a run reaches `gotong provider redeem` and the logs: a GotongError, never viem's raw error.
    running ??= redeemOnce()
      .catch((error: unknown) => {
        throw redeemFailedError(error, me);
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return {
    redeemNow,
    start() {
      const tick = () =>
        redeemNow().catch((error) => logger.warn("redeem failed; will retry", { error: (error as Error).message }));
      void tick();
      timer = setInterval(tick, interval);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}

export type Redeemer = ReturnType<typeof createRedeemer>;
