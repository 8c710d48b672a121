import { encodeFunctionData, getAddress, type Address, type Hex } from "viem";
import type { ChainClients } from "../../../chain/createClients.ts";
import { X402BatchSettlementArtifact, X402SplitterArtifact } from "../../../chain/contracts.generated.ts";
import { writeAndWait } from "../../../chain/writeAndWait.ts";
import type { Logger } from "../../../common/logger.ts";
import { BATCH_SETTLEMENT_ADDRESS, batchSettlementDomain, CLAIM_BATCH_TYPES, toContractConfig } from "../../../protocol/x402/batchSettlement.ts";
import type { ProviderStore } from "../../createProviderStore.ts";
import type { BatchChannels, HeldVoucher } from "./createBatchChannels.ts";

/** One redemption: the claim (and settle) transaction and the splits after it. */
export type BatchRedemption = {
  /** Channels claimed. */
  channels: number;
  /** Everything claimed, in base units. */
  amount: bigint;
  /** The `multicall(claimWithSignature, settle…)` transaction (the last one, if a refused batch was claimed channel by channel). */
  claimTransaction: Hex;
  /** One X402Splitter `split` per (provider, model) receiver. */
  splitTransactions: Hex[];
  /** Gas of all of them. */
  gasUsed: bigint;
};

/** Redeems the provider's batch-settlement channels in batches. */
export type BatchRedeemer = {
  /** Claims every channel charged beyond what is claimed, settles and splits; undefined when there is nothing. */
  redeem(): Promise<BatchRedemption | undefined>;
  start(): void;
  /** Stops the timer and waits for a redemption under way. */
  stop(): Promise<void>;
};

export type BatchRedeemerOptions = {
  clients: ChainClients;
  /** X402Splitter: the receivers are its payees, `split` divides what they were paid. */
  splitter: Address;
  store: ProviderStore;
  channels: BatchChannels;
  logger: Logger;
  /** How often to redeem. Default 60 s, far below the least withdraw delay (900 s). */
  intervalMs?: number;
  /** Most channels in one claim. Default 100. */
  maxClaimsPerBatch?: number;
  /** The provider key's transaction queue (ExactSettlement's `send`): claims and splits wait their turn in it. */
  send: <T>(task: () => Promise<T>) => Promise<T>;
};

/**
 * Creates the batch-settlement redeemer. For each channel charged (the provider's books: the sum of
 * its receipts) beyond what the chain has claimed, it claims exactly that charge with the latest
 * voucher (which covers it: a voucher is for the charge before it plus its request's worst case),
 * every channel in one `claimWithSignature` batch signed by the provider's key, with `settle` for
 * each receiver in the same `multicall`; then `X402Splitter.split` divides each receiver's payment
 * into royalty, protocol fee and provider share, as a voucher redeem does.
 *
 * @example const redeemer = createBatchRedeemer({ clients, splitter, store, channels, logger, send: settlement.send }); redeemer.start();
 */
export function createBatchRedeemer(options: BatchRedeemerOptions): BatchRedeemer {
  const { clients, splitter, store, channels, logger, send } = options;
  const chainId = clients.chain.id;
  const maxClaims = options.maxClaimsPerBatch ?? 100;
  let timer: NodeJS.Timeout | undefined;

  // Receivers settled but not yet split (a split that failed is tried again at the next run).
  const unsplit = new Map<string, bigint>();
  const splitAll = async () => {
    const hashes: Hex[] = [];
    let gas = 0n;
    for (const [receiver, modelId] of [...unsplit]) {
      const split = await send(() => writeAndWait(clients, { address: splitter, abi: X402SplitterArtifact.abi, functionName: "split", args: [clients.account.address, modelId] }));
      unsplit.delete(receiver);
      hashes.push(split.hash);
      gas += split.receipt.gasUsed;
    }
    return { hashes, gas };
  };

  type Due = { v: HeldVoucher; charged: bigint };

  /** Claims `due` in one batch and settles each receiver, in one `multicall`. */
  const claimBatch = async (due: Due[]) => {
    const claims = due.map(({ v, charged }) => ({
      voucher: { channel: toContractConfig(v.config), maxClaimableAmount: v.maxClaimableAmount },
      signature: v.signature,
      totalClaimed: charged,
    }));
    const signature = await clients.account.signTypedData!({
      domain: batchSettlementDomain(chainId),
      types: CLAIM_BATCH_TYPES,
      primaryType: "ClaimBatch",
      message: { claims: due.map(({ v, charged }) => ({ channelId: v.channelId, maxClaimableAmount: v.maxClaimableAmount, totalClaimed: charged })) },
    });
    const receivers = new Map<string, HeldVoucher>();
    for (const { v } of due) receivers.set(`${getAddress(v.config.receiver)}:${getAddress(v.config.token)}`, v);
    const abi = X402BatchSettlementArtifact.abi;
    const calls = [
      encodeFunctionData({ abi, functionName: "claimWithSignature", args: [claims, signature] }),
      ...[...receivers.values()].map((v) => encodeFunctionData({ abi, functionName: "settle", args: [v.config.receiver, v.config.token] })),
    ];
    const claimed = await send(() => writeAndWait(clients, { address: BATCH_SETTLEMENT_ADDRESS, abi, functionName: "multicall", args: [calls] }));
    for (const { v, charged } of due) channels.setClaimed(v.channelId, charged);
    for (const v of receivers.values()) unsplit.set(getAddress(v.config.receiver), v.modelId);
    return claimed;
  };

  const once = async (): Promise<BatchRedemption | undefined> => {
    if (unsplit.size > 0) await splitAll();
    const due = channels
      .all()
      .map((v) => ({ v, charged: store.getChannel(v.channelId, 0n).owed }))
      .filter(({ v, charged }) => charged > v.claimed && charged <= v.maxClaimableAmount)
      .slice(0, maxClaims);
    if (due.length === 0) return undefined;
    let claimedDue = due;
    let claimTransaction: Hex;
    let gasUsed: bigint;
    try {
      const claimed = await claimBatch(due);
      claimTransaction = claimed.hash;
      gasUsed = claimed.receipt.gasUsed;
    } catch (error) {
      if (due.length === 1) throw error;
      // One channel the chain refuses (its payer withdrew first, say) must not hold up the others' pay: one by one.
      logger.warn("x402 batch claim refused; claiming its channels one by one", { channels: due.length, error: (error as Error).message });
      claimedDue = [];
      gasUsed = 0n;
      claimTransaction = "0x";
      for (const item of due) {
        try {
          const claimed = await claimBatch([item]);
          claimedDue.push(item);
          claimTransaction = claimed.hash;
          gasUsed += claimed.receipt.gasUsed;
        } catch (single) {
          logger.warn("x402 batch channel not claimable", { channel: item.v.channelId, charged: item.charged, error: (single as Error).message });
        }
      }
      if (claimedDue.length === 0) return undefined;
    }
    const splits = await splitAll();
    gasUsed += splits.gas;
    const amount = claimedDue.reduce((sum, { v, charged }) => sum + charged - v.claimed, 0n);
    logger.info("x402 batch channels redeemed", { channels: claimedDue.length, amount, tx: claimTransaction, gas: gasUsed });
    return { channels: claimedDue.length, amount, claimTransaction, splitTransactions: splits.hashes, gasUsed };
  };

  // One redemption at a time: they come from one key, and a second would claim the same charge.
  let chain: Promise<unknown> = Promise.resolve();
  const redeem = () => {
    const run = chain.then(once, once);
    chain = run.catch(() => undefined);
    return run;
  };

  return {
    redeem,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        redeem().catch((error: Error) => logger.warn("x402 batch redeem failed; it is tried again next run", { error: error.message }));
      }, options.intervalMs ?? 60_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await chain;
    },
  };
}
