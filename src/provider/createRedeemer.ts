import {
  BaseError,
  ContractFunctionRevertedError,
  Eip1559FeesNotSupportedError,
  HttpRequestError,
  TimeoutError,
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
  /** Most gas one redeem transaction may take; a batch that needs more is split. Default half the block gas limit. */
  maxGasPerTx?: bigint;
  /**
   * What one native coin (10^18 wei) is worth in the payment token's base units, e.g. 3000_000000n
   * for ETH at 3,000 USDC. With it, a batch is sent only when its gas, at the most it can cost
   * (gas limit × maxFeePerGas), is at most `maxGasShare` of what it redeems; without it the gas
   * cost is reported but not compared (on the devnet gas is test coin).
   */
  nativePrice?: bigint;
  /** The share of a batch's worth that its gas may cost at most, in basis points (1..10000). Default 2500 (a quarter). */
  maxGasShareBps?: number;
};

/** The options that bound what a redeem's gas may cost (set by `gotong provider start|redeem` flags). */
export type RedeemGasOptions = Pick<RedeemerOptions, "nativePrice" | "maxGasShareBps" | "maxGasPerTx">;

/** What the gas of a redeem transaction costs, and what it was allowed to (base units of the payment token where a price is known). */
export type GasCheck = {
  vouchers: number;
  /** What the batch redeems, in base units. */
  worth: bigint;
  gas: bigint;
  maxFeePerGas: bigint;
  /** gas × maxFeePerGas: the most the transaction can cost, in wei. */
  maxCostWei: bigint;
  /** maxCostWei in the payment token's base units, when a native price is set. */
  maxCost?: bigint;
  /** The most gas may cost for this batch (worth × maxGasShare), when a native price is set. */
  threshold?: bigint;
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
  /** The gas of each batch sent this run, and of one not sent because its gas would cost more than allowed. */
  gas: GasCheck[];
  /** A batch left for later because its gas would cost more than its threshold (its vouchers stay stored). */
  waitingForWorth?: GasCheck;
  /** Set when the chain answered from behind a block this redeemer already saw (a lagging RPC): nothing was sent. */
  behind?: { block: bigint; seen: bigint };
};

const abi = PaymentChannelsArtifact.abi;

/** PaymentChannels' custom errors by selector: what a `VoucherSkipped` reason names. */
const errorNames = new Map<Hex, string>(
  abi.flatMap((item) => (item.type === "error" ? [[toFunctionSelector(`${item.name}(${item.inputs.map((i) => i.type).join(",")})`), item.name] as [Hex, string]] : [])),
);

/** How often a broadcast the RPC did not answer is tried again (after 0.25, 0.5, 1, 2 s). */
const BROADCAST_RETRIES = 4;

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
  const maxGasShareBps = BigInt(options.maxGasShareBps ?? 2500);
  if (maxGasShareBps < 1n || maxGasShareBps > 10_000n) throw new RangeError(`maxGasShareBps must be 1..10000, not ${maxGasShareBps}`);
  const me = clients.account.address;
  // The highest block any answer showed: an RPC answering from before it is lagging, and what it
  // says of channels and nonces is old. And the highest nonce of ours seen mined: a lagging node's
  // transaction count never makes us sign a nonce that is already used.
  let seenBlock = 0n;
  let minedNonce = -1;
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
    if (receipt.blockNumber > seenBlock) seenBlock = receipt.blockNumber;
    if (tx.nonce > minedNonce) minedNonce = tx.nonce;
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

  /**
   * Broadcasts signed bytes. viem never retries a send (for a fresh transaction that could send it
   * twice), but these bytes are one transaction whatever happens, so a send the RPC did not answer
   * (timed out, rate-limited, connection cut) is retried with growing delays. A node that already
   * has them (a retried send that had arrived) is not an error.
   */
  async function broadcast(raw: Hex, hash: Hex): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await clients.wallet.sendRawTransaction({ serializedTransaction: raw });
        return;
      } catch (error) {
        if ((await receiptOf(hash).catch(() => undefined)) || (await isKnown(hash))) return;
        const unanswered = error instanceof BaseError && error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null;
        if (!unanswered || attempt >= BROADCAST_RETRIES) throw error;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
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

  type Batch = { items: Candidate[]; data: Hex; gas: bigint };

  /**
   * The longest head of `items` whose `redeemBatch` fits in the gas cap, with its gas limit (the
   * estimate plus a quarter: state that moves before the block, a sender contract's check costing more).
   */
  async function fitToGas(items: Candidate[], cap: bigint): Promise<Batch> {
    for (;;) {
      const data = encodeFunctionData({ abi, functionName: "redeemBatch", args: batchArgs(items) });
      const estimate = await clients.public.estimateGas({ account: clients.account, to: paymentChannels, data });
      const gas = (estimate * 5n) / 4n;
      if (gas <= cap || items.length === 1) return { items, data, gas };
      // Gas grows about linearly with the vouchers: cut to the share that fits, at least one fewer.
      const fits = Number((BigInt(items.length) * cap) / gas);
      items = items.slice(0, Math.max(1, Math.min(fits, items.length - 1)));
    }
  }

  /** The batch's gas at the most it can cost, against what it redeems (and the threshold, when a price is known). */
  function checkGas(batch: Batch, maxFeePerGas: bigint): GasCheck {
    const worth = batch.items.reduce((sum, c) => sum + c.expected, 0n);
    const maxCostWei = batch.gas * maxFeePerGas;
    const check: GasCheck = { vouchers: batch.items.length, worth, gas: batch.gas, maxFeePerGas, maxCostWei };
    if (options.nativePrice !== undefined) {
      // Rounded up: the cost is never understated.
      check.maxCost = (maxCostWei * options.nativePrice + 10n ** 18n - 1n) / 10n ** 18n;
      check.threshold = (worth * maxGasShareBps) / 10_000n;
    }
    return check;
  }

  type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; gasPrice?: undefined } | { gasPrice: bigint; maxFeePerGas?: undefined };

  /** The chain's fees now: EIP-1559 (base fee with headroom for rising blocks, plus a tip), or a legacy gas price where the chain has no base fee. */
  async function feesNow(): Promise<Fees> {
    try {
      const { maxFeePerGas, maxPriorityFeePerGas } = await clients.public.estimateFeesPerGas();
      return { maxFeePerGas, maxPriorityFeePerGas };
    } catch (error) {
      if (!(error instanceof BaseError) || !error.walk((e) => e instanceof Eip1559FeesNotSupportedError)) throw error;
      return { gasPrice: await clients.public.getGasPrice() };
    }
  }

  /** Signs, records, broadcasts and settles one `redeemBatch` of items the chain was checked to pay, at the chain's fees. */
  async function send(batch: Batch, fees: Fees, result: RedeemResult): Promise<boolean> {
    const { data, gas } = batch;
    const vouchers = batch.items.map((c) => plain(c.voucher));
    if (clients.account.type !== "local") {
      const hash = await clients.wallet.sendTransaction({ to: paymentChannels, data, gas, ...fees });
      const receipt = await clients.public.waitForTransactionReceipt({ hash });
      await settle({ hash, raw: "0x", nonce: -1, vouchers, createdAt: Date.now() }, receipt, result);
      return true;
    }
    const counted = await clients.public.getTransactionCount({ address: me, blockTag: "pending" });
    const nonce = Math.max(counted, minedNonce + 1);
    const request = await clients.wallet.prepareTransactionRequest({ to: paymentChannels, data, gas, nonce, ...(fees.gasPrice === undefined ? { type: "eip1559", ...fees } : { type: "legacy", gasPrice: fees.gasPrice }) } as never);
    const raw = await clients.wallet.signTransaction(request as never);
    const tx: InFlightRedeem = { hash: keccak256(raw), raw, nonce, vouchers, createdAt: Date.now() };
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
    const result: RedeemResult = { transactionHash: undefined, transactionHashes: [], channels: 0, amount: 0n, redeemed: [], skipped: [], quarantined: [], deferred: [], pending: [], gas: [] };
    const finish = () => {
      result.channels = result.redeemed.length;
      result.amount = result.redeemed.reduce((sum, r) => sum + r.amount, 0n);
      result.quarantined = store.quarantined();
      return result;
    };
    if (!(await settleInFlight(result))) return finish();

    const block = await clients.public.getBlock();
    if (block.number < seenBlock) {
      // A lagging RPC: its channels, nonces and receipts are from before what we already saw.
      logger.warn("the chain's RPC answers from behind a block already seen; nothing is sent until it catches up", { block: block.number, seen: seenBlock });
      result.behind = { block: block.number, seen: seenBlock };
      return finish();
    }
    seenBlock = block.number;
    const now = block.timestamp;
    const held = new Map(store.quarantined().map((q) => [`${q.channelId}:${q.epoch}`, q]));
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

    const gasCap = options.maxGasPerTx ?? block.gasLimit / 2n;
    const queue = [...candidates];
    while (queue.length > 0) {
      let items = queue.splice(0, maxBatch);
      if (!(await batchPaysInFull(items))) items = await keepThosePaying(items, result);
      if (items.length === 0) continue;
      const batch = await fitToGas(items, gasCap);
      queue.unshift(...items.slice(batch.items.length)); // what did not fit goes first in the next batch
      const fees = await feesNow();
      const check = checkGas(batch, fees.maxFeePerGas ?? fees.gasPrice);
      if (check.threshold !== undefined && check.maxCost! > check.threshold) {
        // Batches are in falling worth (closing channels aside): the rest would be worth even less.
        logger.info("redeem waits: its gas could cost more than allowed for what it redeems", { vouchers: check.vouchers, worth: check.worth, maxGasCost: check.maxCost, threshold: check.threshold });
        result.waitingForWorth = check;
        break;
      }
      result.gas.push(check);
      if (!(await send(batch, fees, result))) break; // not mined yet: the next run settles it first
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
