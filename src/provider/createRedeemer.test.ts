import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  WaitForTransactionReceiptTimeoutError,
  decodeFunctionData,
  encodeAbiParameters,
  encodeErrorResult,
  encodeEventTopics,
  keccak256,
  parseTransaction,
  zeroAddress,
  type Address,
  type Hex,
  type Log,
  type TransactionReceipt,
  type TransactionSerializable,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { ChainClients } from "../chain/createClients.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { createLogger } from "../common/logger.ts";
import { createPaymentVerifier } from "../payments/createPaymentVerifier.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";
import { signVoucher, type SignedVoucher, type Voucher } from "../protocol/voucher.ts";
import { createProviderStore, type ProviderStore } from "./createProviderStore.ts";
import { createRedeemer, type RedeemerOptions } from "./createRedeemer.ts";

const abi = PaymentChannelsArtifact.abi;
const paymentChannels = "0x00000000000000000000000000000000000000c0" as Address;
const domain = { chainId: 31337, verifyingContract: paymentChannels };
const providerAccount = privateKeyToAccount(generatePrivateKey());
const sender = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const BPS = 10_000n;

const idOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

/** The split PaymentChannels makes of `amount`: royalty and fee rounded down, the provider gets the rest. */
function split(amount: bigint, royaltyBps: number, feeBps: number) {
  const royalty = (amount * BigInt(royaltyBps)) / BPS;
  const fee = (amount * BigInt(feeBps)) / BPS;
  return { amount, royalty, fee, providerShare: amount - royalty - fee };
}

type Refusal = { reason: string; args: readonly unknown[] };

/**
 * PaymentChannels' redeem path in memory, behind the few viem client methods the redeemer calls.
 * Its checks follow `_redeem` in PaymentChannels.sol in order; signatures are real EIP-712 checks.
 * Transactions are real signed bytes: the chain decodes what it is sent, so a test sees exactly
 * which vouchers each transaction carried.
 */
function createFakeChain() {
  const verifier = createPaymentVerifier(domain);
  const channels = new Map<Hex, OnchainChannel>();
  const receipts = new Map<Hex, TransactionReceipt>();
  const known = new Set<Hex>();
  const waiting: { hash: Hex; vouchers: SignedVoucher[] }[] = [];
  let minedNonce = 0;
  let acceptedNonce = 0;
  let blockNumber = 1n;
  let timestamp = 1_000_000n;

  /** Faults and pauses a test arms; each broadcast/estimate fault is used once. */
  const faults = {
    broadcast: [] as Error[],
    estimateGas: [] as Error[],
    readChannel: new Map<Hex, Error>(),
    /** When false, transactions wait in the mempool until `mine()`. */
    autoMine: true,
    /** When true, the next mined transaction reverts as a whole (out of gas, say). */
    revertNext: false,
    /** The chain's EIP-1559 fees now. */
    fees: { maxFeePerGas: 2n, maxPriorityFeePerGas: 1n },
    /** A lagging RPC: blocks and the transaction count are answered from this many blocks / this count back. */
    lagBlocks: 0n,
    staleCount: undefined as number | undefined,
    /** Runs just before a transaction is mined: state that moves between the check and the block. */
    beforeMine: undefined as (() => void) | undefined,
  };
  const counts = { signed: 0, broadcasts: 0, strictSimulations: new Map<Hex, number>() };
  /** Every transaction mined, with the channels it carried, in order. */
  const mined: { hash: Hex; channelIds: Hex[]; status: "success" | "reverted" }[] = [];

  const channelOf = (id: Hex): OnchainChannel =>
    channels.get(id) ?? { sender: zeroAddress, provider: zeroAddress, modelId: 0n, deposit: 0n, redeemed: 0n, royaltyBps: 0, feeBps: 0, epoch: 0n, closesAt: 0n };

  function refusalOf(state: Map<Hex, OnchainChannel>, v: SignedVoucher, caller: Address): Refusal | undefined {
    const c = state.get(v.channelId) ?? channelOf(v.channelId);
    if (c.deposit === 0n) return { reason: "ChannelNotOpen", args: [v.channelId] };
    if (c.provider.toLowerCase() !== caller.toLowerCase()) return { reason: "NotChannelProvider", args: [v.channelId, caller] };
    if (v.epoch !== c.epoch) return { reason: "WrongEpoch", args: [c.epoch, v.epoch] };
    if (c.closesAt !== 0n && timestamp >= c.closesAt) return { reason: "ChannelClosed", args: [v.channelId, c.closesAt] };
    const payable = v.cumulativeAmount < c.deposit ? v.cumulativeAmount : c.deposit;
    if (payable <= c.redeemed) return { reason: "VoucherNotIncreasing", args: [c.redeemed, v.cumulativeAmount] };
    if (!verifier.voucherSignedBy(v, c.sender)) return { reason: "InvalidVoucherSignature", args: [] };
    return undefined;
  }

  /** `redeemBatch` on `state`: pays what it can, skips the rest; returns the total and the logs. */
  function runBatch(state: Map<Hex, OnchainChannel>, vouchers: SignedVoucher[], caller: Address) {
    let total = 0n;
    const logs: Log[] = [];
    for (const v of vouchers) {
      const refused = refusalOf(state, v, caller);
      if (refused) {
        const selector = encodeErrorResult({ abi, errorName: refused.reason as never, args: refused.args as never }).slice(0, 10) as Hex;
        logs.push(eventLog("VoucherSkipped", { channelId: v.channelId, provider: caller }, [v.epoch, v.cumulativeAmount, selector]));
        continue;
      }
      const c = state.get(v.channelId)!;
      const payable = v.cumulativeAmount < c.deposit ? v.cumulativeAmount : c.deposit;
      const s = split(payable - c.redeemed, c.royaltyBps, c.feeBps);
      state.set(v.channelId, { ...c, redeemed: payable });
      total += s.amount;
      logs.push(eventLog("VoucherRedeemed", { channelId: v.channelId, provider: caller, modelId: c.modelId }, [v.cumulativeAmount, s.amount, s.providerShare, s.royalty, s.fee]));
    }
    return { total, logs };
  }

  function eventLog(eventName: "VoucherRedeemed" | "VoucherSkipped", indexed: Record<string, unknown>, values: unknown[]): Log {
    const event = abi.find((item) => item.type === "event" && item.name === eventName) as { inputs: readonly { type: string; indexed?: boolean }[] };
    const topics = encodeEventTopics({ abi, eventName, args: indexed as never });
    const data = encodeAbiParameters(event.inputs.filter((i) => !i.indexed), values);
    return { address: paymentChannels, topics, data, blockNumber, blockHash: idOf(Number(blockNumber)), logIndex: 0, transactionHash: null, transactionIndex: 0, removed: false } as unknown as Log;
  }

  const vouchersIn = (data: Hex): SignedVoucher[] => {
    const { args } = decodeFunctionData({ abi, data });
    const [vs, sigs] = args as unknown as [Voucher[], Hex[]];
    return vs.map((v, i) => ({ channelId: v.channelId, epoch: v.epoch, cumulativeAmount: v.cumulativeAmount, signature: sigs[i]! }));
  };

  /** Mines every waiting transaction, one block each. */
  function mine() {
    faults.beforeMine?.();
    faults.beforeMine = undefined;
    while (waiting.length) {
      const { hash, vouchers } = waiting.shift()!;
      blockNumber += 1n;
      timestamp += 2n;
      let status: "success" | "reverted" = "success";
      let logs: Log[] = [];
      if (faults.revertNext) {
        faults.revertNext = false;
        status = "reverted";
      } else {
        logs = runBatch(channels, vouchers, providerAccount.address).logs;
      }
      minedNonce += 1;
      mined.push({ hash, channelIds: vouchers.map((v) => v.channelId), status });
      receipts.set(hash, { transactionHash: hash, blockNumber, status, logs, gasUsed: 100_000n } as unknown as TransactionReceipt);
    }
  }

  /** The error viem's simulateContract throws for a call that reverts with custom error `r`. */
  const revert = (functionName: string, args: readonly unknown[], r: Refusal) =>
    new ContractFunctionExecutionError(new ContractFunctionRevertedError({ abi, functionName, data: encodeErrorResult({ abi, errorName: r.reason as never, args: r.args as never }) }), {
      abi,
      functionName,
      args,
      contractAddress: paymentChannels,
    });

  const publicClient = {
    getBlock: async (args?: { blockNumber?: bigint }) => ({ number: args?.blockNumber ?? blockNumber - faults.lagBlocks, timestamp, gasLimit: 30_000_000n }),
    estimateFeesPerGas: async () => ({ ...faults.fees }),
    readContract: async ({ functionName, args }: { functionName: string; args: [Hex] }) => {
      if (functionName !== "getChannel") throw new Error(`the fake chain has no ${functionName}`);
      const fault = faults.readChannel.get(args[0]);
      if (fault) throw fault;
      return { ...channelOf(args[0]) };
    },
    simulateContract: async ({ functionName, args, account }: { functionName: string; args: readonly unknown[]; account: { address: Address } }) => {
      if (functionName === "redeemBatch") {
        const [vs, sigs] = args as [Voucher[], Hex[]];
        const scratch = new Map([...channels].map(([k, c]) => [k, { ...c }]));
        return { result: runBatch(scratch, vs.map((v, i) => ({ ...v, signature: sigs[i]! })), account.address).total };
      }
      if (functionName === "redeem") {
        const [v, signature] = args as [Voucher, Hex];
        counts.strictSimulations.set(v.channelId, (counts.strictSimulations.get(v.channelId) ?? 0) + 1);
        const refused = refusalOf(channels, { ...v, signature }, account.address);
        if (refused) throw revert("redeem", args, refused);
        const c = channels.get(v.channelId)!;
        return { result: (v.cumulativeAmount < c.deposit ? v.cumulativeAmount : c.deposit) - c.redeemed };
      }
      throw new Error(`the fake chain has no ${functionName}`);
    },
    /** Like PaymentChannels: a base cost plus about the same for each voucher in the batch. */
    estimateGas: async ({ data }: { data: Hex }) => {
      const fault = faults.estimateGas.shift();
      if (fault) throw fault;
      return 30_000n + 25_000n * BigInt(vouchersIn(data).length);
    },
    getTransactionReceipt: async ({ hash }: { hash: Hex }) => {
      const receipt = receipts.get(hash);
      if (!receipt) throw new TransactionReceiptNotFoundError({ hash });
      return receipt;
    },
    getTransaction: async ({ hash }: { hash: Hex }) => {
      if (!known.has(hash)) throw new TransactionNotFoundError({ hash });
      return { hash };
    },
    getTransactionCount: async () => faults.staleCount ?? minedNonce,
    waitForTransactionReceipt: async ({ hash }: { hash: Hex }) => {
      const receipt = receipts.get(hash);
      if (!receipt) throw new WaitForTransactionReceiptTimeoutError({ hash });
      return receipt;
    },
  };

  const wallet = {
    prepareTransactionRequest: async ({ to, data, gas, nonce }: { to: Address; data: Hex; gas: bigint; nonce?: number }) =>
      ({ to, data, gas, nonce: nonce ?? acceptedNonce, chainId: domain.chainId, type: "eip1559", maxFeePerGas: 2n, maxPriorityFeePerGas: 1n }) satisfies TransactionSerializable,
    signTransaction: async (request: TransactionSerializable) => {
      counts.signed += 1;
      return providerAccount.signTransaction(request);
    },
    sendRawTransaction: async ({ serializedTransaction: raw }: { serializedTransaction: Hex }) => {
      counts.broadcasts += 1;
      const fault = faults.broadcast.shift();
      if (fault) throw fault;
      const hash = keccak256(raw);
      if (known.has(hash)) throw new Error("already known");
      const tx = parseTransaction(raw);
      if (tx.nonce !== acceptedNonce) throw new Error(`nonce too low: next nonce ${acceptedNonce}, tx nonce ${tx.nonce}`);
      known.add(hash);
      acceptedNonce += 1;
      waiting.push({ hash, vouchers: vouchersIn(tx.data!) });
      if (faults.autoMine) mine();
      return hash;
    },
  };

  const clients = { chain: { id: domain.chainId }, account: providerAccount, public: publicClient, wallet } as unknown as ChainClients;

  return {
    clients,
    faults,
    counts,
    mined,
    mine,
    /** Opens a channel from `sender` to the provider, with royalty and fee terms. */
    open(id: Hex, deposit: bigint, terms: { royaltyBps?: number; feeBps?: number; closesAt?: bigint; provider?: Address } = {}) {
      channels.set(id, {
        sender: sender.address,
        provider: terms.provider ?? providerAccount.address,
        modelId: 7n,
        deposit,
        redeemed: 0n,
        royaltyBps: terms.royaltyBps ?? 0,
        feeBps: terms.feeBps ?? 0,
        epoch: 0n,
        closesAt: terms.closesAt ?? 0n,
      });
    },
    channel: (id: Hex) => channelOf(id),
    update: (id: Hex, change: Partial<OnchainChannel>) => channels.set(id, { ...channelOf(id), ...change }),
    now: () => timestamp,
  };
}

describe("createRedeemer, against an in-memory PaymentChannels", () => {
  let dir: string;
  let store: ProviderStore;
  let chain: ReturnType<typeof createFakeChain>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gotong-redeemer-"));
    store = createProviderStore(join(dir, "provider.db"));
    chain = createFakeChain();
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const redeemerOf = (options: Partial<RedeemerOptions> = {}) =>
    createRedeemer({ clients: chain.clients, paymentChannels, store, logger: createLogger({ level: "silent" }), receiptTimeoutMs: 10, ...options });

  /** Stores a voucher as the payment guard would once it accepted it. */
  async function accept(channelId: Hex, cumulativeAmount: bigint, by = sender) {
    const voucher = await signVoucher(by, domain, { channelId, epoch: 0n, cumulativeAmount });
    expect(store.acceptVoucher(voucher)).toBe(true);
    return voucher;
  }

  it("redeems every stored voucher once, in batches of maxBatch, closing channels first, splitting each exactly", async () => {
    const [a, b, c] = [idOf(1), idOf(2), idOf(3)];
    chain.open(a, 1_000_000n, { royaltyBps: 500, feeBps: 100 });
    chain.open(b, 500_000n, { closesAt: chain.now() + 3_600n });
    chain.open(c, 900_000n, { royaltyBps: 333, feeBps: 77 });
    await accept(a, 300_000n);
    await accept(b, 120_000n);
    await accept(c, 50_001n);

    const first = await redeemerOf({ maxBatch: 2 }).redeemNow();
    // The closing channel goes in the first transaction even though it is not the largest amount.
    expect(chain.mined.map((t) => t.channelIds)).toEqual([[b, a], [c]]);
    expect(first.transactionHashes).toEqual(chain.mined.map((t) => t.hash));
    expect(first.transactionHash).toBe(chain.mined[0]!.hash);
    expect(first.channels).toBe(3);
    expect(first.amount).toBe(470_001n);
    const paid = Object.fromEntries(first.redeemed.map((r) => [r.channelId, { amount: r.amount, royalty: r.royalty, fee: r.fee, providerShare: r.providerShare }]));
    expect(paid).toEqual({
      [a]: { amount: 300_000n, royalty: 15_000n, fee: 3_000n, providerShare: 282_000n },
      [b]: { amount: 120_000n, royalty: 0n, fee: 0n, providerShare: 120_000n },
      [c]: { amount: 50_001n, royalty: 1_665n, fee: 385n, providerShare: 47_951n },
    });
    for (const r of first.redeemed) expect(r.royalty + r.fee + r.providerShare).toBe(r.amount);
    expect([chain.channel(a).redeemed, chain.channel(b).redeemed, chain.channel(c).redeemed]).toEqual([300_000n, 120_000n, 50_001n]);
    expect(store.unredeemed()).toEqual([]);
    expect(store.getChannel(a, 0n).redeemed).toBe(300_000n);
    expect(store.inFlightRedeems()).toEqual([]);

    // Nothing is redeemed twice: a second run sends nothing; a higher voucher pays only the difference.
    const again = await redeemerOf().redeemNow();
    expect(again).toMatchObject({ transactionHashes: [], channels: 0, amount: 0n });
    await accept(a, 420_000n);
    const more = await redeemerOf().redeemNow();
    expect(more.redeemed).toMatchObject([{ channelId: a, cumulativeAmount: 420_000n, amount: 120_000n, royalty: 6_000n, fee: 1_200n, providerShare: 112_800n }]);
    expect(chain.mined).toHaveLength(3);
    expect(chain.counts.signed).toBe(3);
  });

  it("waits for minAmount before sending, unless a channel is closing", async () => {
    const [a, b] = [idOf(1), idOf(2)];
    chain.open(a, 1_000n);
    chain.open(b, 1_000n);
    await accept(a, 40n);
    expect(await redeemerOf({ minAmount: 100n }).redeemNow()).toMatchObject({ transactionHashes: [], amount: 0n });
    expect(chain.counts.signed).toBe(0);
    expect(store.unredeemed()).toHaveLength(1); // still held, for the next run
    chain.update(b, { closesAt: chain.now() + 60n });
    await accept(b, 10n);
    expect((await redeemerOf({ minAmount: 100n }).redeemNow()).amount).toBe(50n);
  });

  describe("gas: batches fit a gas cap, are priced from the chain, and never cost more than allowed", () => {
    it("splits a batch that needs more gas than the cap, keeping every voucher and each transaction under the cap", async () => {
      const ids = [1, 2, 3, 4, 5].map(idOf);
      for (const [i, id] of ids.entries()) {
        chain.open(id, 1_000_000n);
        await accept(id, BigInt(100_000 - i)); // falling amounts: the order they are sent in
      }
      // 30,000 + 25,000 per voucher, plus a quarter of headroom: 5 need 193,750, 2 need 100,000.
      const result = await redeemerOf({ maxGasPerTx: 120_000n }).redeemNow();
      expect(chain.mined.map((t) => t.channelIds)).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
      expect(result.gas.map((g) => [g.vouchers, g.gas])).toEqual([[2, 100_000n], [2, 100_000n], [1, 68_750n]]);
      expect(result.amount).toBe(100_000n + 99_999n + 99_998n + 99_997n + 99_996n);
      expect(store.unredeemed()).toEqual([]);
    });

    it("waits while the gas, at its highest price, would cost more than its share of what a batch redeems, and sends once the vouchers are worth it", async () => {
      const a = idOf(1);
      chain.open(a, 10_000_000n);
      await accept(a, 4_000_000n);
      chain.faults.fees = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n };
      // One native coin = 2,000 tokens of 6 decimals; gas may take a quarter of a batch's worth.
      const options = { nativePrice: 2_000_000_000n, maxGasShareBps: 2500 };
      const waiting = await redeemerOf(options).redeemNow();
      // 68,750 gas × 10 gwei = 0.0006875 coin = 1,375,000 base units; a quarter of 4,000,000 is 1,000,000.
      const cost = { gas: 68_750n, maxFeePerGas: 10n ** 10n, maxCostWei: 68_750n * 10n ** 10n, maxCost: 1_375_000n };
      expect(waiting.waitingForWorth).toEqual({ vouchers: 1, worth: 4_000_000n, ...cost, threshold: 1_000_000n });
      expect(waiting.transactionHashes).toEqual([]);
      expect(chain.counts.signed).toBe(0);
      expect(store.unredeemed()).toHaveLength(1);

      await accept(a, 6_000_000n);
      const sent = await redeemerOf(options).redeemNow();
      expect(sent.waitingForWorth).toBeUndefined();
      expect(sent.gas).toEqual([{ vouchers: 1, worth: 6_000_000n, ...cost, threshold: 1_500_000n }]);
      expect(sent.amount).toBe(6_000_000n);
      expect(chain.channel(a).redeemed).toBe(6_000_000n);
    });

    it("refuses a gas share outside 1..10000 basis points", () => {
      expect(() => redeemerOf({ maxGasShareBps: 0 })).toThrow(/maxGasShareBps/);
      expect(() => redeemerOf({ maxGasShareBps: 10_001 })).toThrow(/maxGasShareBps/);
    });
  });

  describe("a lagging RPC is not believed", () => {
    it("sends nothing while the chain answers from behind a block already seen, then carries on", async () => {
      const [a, b] = [idOf(1), idOf(2)];
      chain.open(a, 1_000_000n);
      chain.open(b, 1_000_000n);
      await accept(a, 1_000n);
      const redeemer = redeemerOf();
      expect((await redeemer.redeemNow()).amount).toBe(1_000n);
      await accept(b, 2_000n);
      chain.faults.lagBlocks = 1n; // a node one block behind our own redeem
      const behind = await redeemer.redeemNow();
      expect(behind.behind, "our redeem was mined in block 2; the node answers block 1").toEqual({ block: 1n, seen: 2n });
      expect(behind.transactionHashes).toEqual([]);
      expect(chain.counts.signed).toBe(1);
      chain.faults.lagBlocks = 0n;
      expect((await redeemer.redeemNow()).redeemed.map((r) => [r.channelId, r.amount])).toEqual([[b, 2_000n]]);
    });

    it("never signs a nonce below one of its own already mined, whatever a stale transaction count says", async () => {
      const [a, b] = [idOf(1), idOf(2)];
      chain.open(a, 1_000_000n);
      chain.open(b, 1_000_000n);
      await accept(a, 1_000n);
      const redeemer = redeemerOf();
      await redeemer.redeemNow();
      chain.faults.staleCount = 0; // counts from before our first redeem was mined
      await accept(b, 2_000n);
      const next = await redeemer.redeemNow();
      expect(next.redeemed.map((r) => r.amount)).toEqual([2_000n]);
      expect(chain.mined).toHaveLength(2);
      expect(chain.counts.signed).toBe(2);
    });
  });

  describe("a redemption that fails loses nothing and is retried", () => {
    it("a failed broadcast: the vouchers stay, and the same signed transaction is sent next run, never a second one", async () => {
      const [a, b] = [idOf(1), idOf(2)];
      chain.open(a, 10_000n);
      chain.open(b, 10_000n);
      await accept(a, 1_234n);
      await accept(b, 4_321n);
      chain.faults.broadcast.push(new Error("fetch failed"));
      const redeemer = redeemerOf();
      await expect(redeemer.redeemNow()).rejects.toThrow("fetch failed");
      expect(chain.mined).toEqual([]);
      expect(store.unredeemed().map((s) => s.voucher!.cumulativeAmount).sort()).toEqual([1_234n, 4_321n]);
      const [recorded] = store.inFlightRedeems();
      expect(recorded!.vouchers.map((v) => v.cumulativeAmount)).toEqual([4_321n, 1_234n]);

      const retry = await redeemer.redeemNow();
      expect(retry.transactionHashes).toEqual([recorded!.hash]);
      expect(retry.amount).toBe(5_555n);
      expect(chain.counts.signed).toBe(1);
      expect(chain.mined.map((t) => t.hash)).toEqual([recorded!.hash]);
      expect(store.unredeemed()).toEqual([]);
      expect(store.inFlightRedeems()).toEqual([]);
    });

    it("a failed gas estimate: nothing is signed or recorded, and the next run redeems", async () => {
      chain.open(idOf(1), 10_000n);
      await accept(idOf(1), 999n);
      chain.faults.estimateGas.push(new Error("upstream timeout"));
      await expect(redeemerOf().redeemNow()).rejects.toThrow("upstream timeout");
      expect(chain.counts.signed).toBe(0);
      expect(store.inFlightRedeems()).toEqual([]);
      expect(store.unredeemed()).toHaveLength(1);
      expect((await redeemerOf().redeemNow()).amount).toBe(999n);
    });

    it("a transaction that reverts as a whole: its vouchers are sent again next run", async () => {
      chain.open(idOf(1), 10_000n);
      await accept(idOf(1), 700n);
      chain.faults.revertNext = true;
      const failed = await redeemerOf().redeemNow();
      expect(failed.amount).toBe(0n);
      expect(chain.mined.map((t) => t.status)).toEqual(["reverted"]);
      expect(chain.channel(idOf(1)).redeemed).toBe(0n);
      expect(store.unredeemed()).toHaveLength(1);
      const retry = await redeemerOf().redeemNow();
      expect(retry.amount).toBe(700n);
      expect(chain.mined.map((t) => t.status)).toEqual(["reverted", "success"]);
    });

    it("a transaction not mined in time: the next runs rebroadcast the same bytes and send nothing new until it is mined", async () => {
      chain.open(idOf(1), 10_000n);
      await accept(idOf(1), 500n);
      chain.faults.autoMine = false;
      const first = await redeemerOf().redeemNow();
      expect(first.amount).toBe(0n);
      expect(first.pending).toHaveLength(1);
      // A higher voucher arrives meanwhile; a restarted provider (a new redeemer on the same store) runs.
      await accept(idOf(1), 800n);
      const second = await redeemerOf().redeemNow();
      expect(second.pending).toEqual(first.pending);
      expect(chain.counts.signed).toBe(1);
      chain.faults.autoMine = true;
      chain.mine();
      const third = await redeemerOf().redeemNow();
      // The first transaction is settled, then the rest of the higher voucher is sent in a second one.
      expect(third.redeemed.map((r) => r.amount)).toEqual([500n, 300n]);
      expect(third.transactionHashes[0]).toBe(first.pending[0]);
      expect(chain.counts.signed).toBe(2);
      expect(chain.channel(idOf(1)).redeemed).toBe(800n);
    });
  });

  describe("one bad voucher does not freeze the others", () => {
    it("holds back a voucher with a bad signature, a closed channel and another provider's channel, and pays the rest in full", async () => {
      const [good1, good2, forged, closed, notMine, unreadable] = [1, 2, 3, 4, 5, 6].map(idOf) as [Hex, Hex, Hex, Hex, Hex, Hex];
      chain.open(good1, 10_000n, { royaltyBps: 1_000 });
      chain.open(good2, 10_000n);
      chain.open(forged, 10_000n);
      chain.open(closed, 10_000n, { closesAt: chain.now() - 1n });
      chain.open(notMine, 10_000n, { provider: stranger.address });
      chain.open(unreadable, 10_000n);
      await accept(good1, 2_000n);
      await accept(good2, 3_000n);
      await accept(forged, 9_000n, stranger); // signed by someone other than the channel's sender
      await accept(closed, 4_000n);
      await accept(notMine, 5_000n);
      await accept(unreadable, 6_000n);
      chain.faults.readChannel.set(unreadable, new Error("rpc timeout"));

      const result = await redeemerOf().redeemNow();
      expect(chain.mined.map((t) => t.channelIds)).toEqual([[good2, good1]]);
      expect(result.amount).toBe(5_000n);
      expect(result.redeemed.find((r) => r.channelId === good1)).toMatchObject({ amount: 2_000n, royalty: 200n, providerShare: 1_800n });
      const held = Object.fromEntries(result.skipped.map((q) => [q.channelId, { reason: q.reason, permanent: q.permanent, amount: q.cumulativeAmount }]));
      expect(held).toEqual({
        [forged]: { reason: "InvalidVoucherSignature", permanent: false, amount: 9_000n },
        [closed]: { reason: "ChannelClosed", permanent: true, amount: 4_000n },
        [notMine]: { reason: "NotChannelProvider", permanent: true, amount: 5_000n },
      });
      expect(result.skipped.find((q) => q.channelId === forged)!.retryAt).toBeGreaterThan(Date.now());
      expect(result.deferred).toEqual([{ channelId: unreadable, epoch: 0n, cumulativeAmount: 6_000n, error: "rpc timeout" }]);
      expect(result.quarantined.map((q) => q.channelId).sort()).toEqual([forged, closed, notMine].sort());

      // Next run: the held-back vouchers are not re-simulated before their retry time (the permanent
      // ones never), the unreadable channel is read again and paid, and the good ones' new pay goes through.
      chain.faults.readChannel.clear();
      await accept(good2, 3_500n);
      const simulatedForged = chain.counts.strictSimulations.get(forged);
      const next = await redeemerOf().redeemNow();
      expect(next.redeemed.map((r) => [r.channelId, r.amount])).toEqual([[unreadable, 6_000n], [good2, 500n]]);
      expect(chain.counts.strictSimulations.get(forged)).toBe(simulatedForged);
      expect(next.skipped).toEqual([]);

      // A higher, correctly signed voucher on the held-back channel is tried at once, and pays.
      await accept(forged, 9_500n);
      const healed = await redeemerOf().redeemNow();
      expect(healed.redeemed.map((r) => [r.channelId, r.amount])).toEqual([[forged, 9_500n]]);
      expect(store.getQuarantine(forged, 0n)).toBeUndefined();
      expect(store.unredeemed().map((s) => s.channelId).sort()).toEqual([closed, notMine].sort());
    });

    it("holds back what the contract skips between the check and the block, and keeps the rest paid", async () => {
      const [a, b] = [idOf(1), idOf(2)];
      chain.open(a, 10_000n);
      chain.open(b, 10_000n);
      await accept(a, 1_000n);
      await accept(b, 2_000n);
      // The sender of `a` gets its channel closed (challenge period over) after the check, before the block.
      chain.faults.beforeMine = () => chain.update(a, { closesAt: chain.now() });
      const result = await redeemerOf().redeemNow();
      expect(chain.mined.map((t) => t.channelIds)).toEqual([[b, a]]);
      expect(result.redeemed.map((r) => [r.channelId, r.amount])).toEqual([[b, 2_000n]]);
      expect(result.skipped).toMatchObject([{ channelId: a, reason: "ChannelClosed", permanent: true, cumulativeAmount: 1_000n }]);
      expect(store.getChannel(b, 0n).redeemed).toBe(2_000n);
      expect(store.getChannel(a, 0n).redeemed).toBe(0n);
    });
  });

  it("redeems on start what was accepted before (a crash), logs a failed run instead of throwing, and stop waits for the run", async () => {
    chain.open(idOf(1), 10_000n);
    await accept(idOf(1), 2_500n);
    const lines: string[] = [];
    chain.faults.broadcast.push(new Error("connection refused"));
    const failing = redeemerOf({ logger: createLogger({ level: "warn", write: (line) => lines.push(line) }) });
    failing.start();
    await failing.stop();
    expect(lines.some((l) => l.includes("redeem failed; will retry") && l.includes("connection refused"))).toBe(true);
    expect(chain.channel(idOf(1)).redeemed).toBe(0n);
    const restarted = redeemerOf();
    restarted.start();
    await restarted.stop();
    expect(chain.channel(idOf(1)).redeemed).toBe(2_500n);
    expect(chain.counts.signed).toBe(1); // the transaction signed before the failure is the one that paid
  });

  it("shares one run between concurrent calls: one transaction, one payment", async () => {
    const [a, b] = [idOf(1), idOf(2)];
    chain.open(a, 10_000n);
    chain.open(b, 10_000n);
    await accept(a, 111n);
    await accept(b, 222n);
    const redeemer = redeemerOf();
    const calls = [redeemer.redeemNow(), redeemer.redeemNow(), redeemer.redeemNow()];
    expect(calls[1]).toBe(calls[0]);
    expect(calls[2]).toBe(calls[0]);
    const [result] = await Promise.all(calls);
    expect(result!.amount).toBe(333n);
    expect(chain.counts.signed).toBe(1);
    expect(chain.counts.broadcasts).toBe(1);
    expect(chain.mined).toHaveLength(1);
    // Once that run is over, the next call is a new run, which finds nothing left to send.
    expect(await redeemer.redeemNow()).toMatchObject({ amount: 0n, transactionHashes: [] });
    expect(chain.counts.signed).toBe(1);
  });
});
