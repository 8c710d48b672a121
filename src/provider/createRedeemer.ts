import type { Address, Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Logger } from "../common/logger.ts";
import { readChannel } from "../payments/readChannel.ts";
import type { ProviderStore } from "./createProviderStore.ts";

export type RedeemerOptions = {
  clients: ChainClients;
  paymentChannels: Address;
  store: ProviderStore;
  logger: Logger;
  /** How often stored vouchers are redeemed. Default 60 s; keep it well under the challenge period. */
  intervalMs?: number;
  /** Smallest unredeemed total worth a transaction, unless a channel is closing. Default 0. */
  minAmount?: bigint;
};

export type RedeemResult = { transactionHash: Hex | undefined; channels: number; amount: bigint };

/**
 * Redeems the provider's stored vouchers on-chain, many channels in one `redeemBatch` transaction.
 * It runs on start (so vouchers accepted before a crash are paid), on a timer, and on demand.
 */
export function createRedeemer(options: RedeemerOptions) {
  const { clients, store, logger, paymentChannels } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<RedeemResult> | undefined;

  async function redeemOnce(): Promise<RedeemResult> {
    const vouchers = [];
    const signatures: Hex[] = [];
    let amount = 0n;
    let closing = false;
    for (const state of store.unredeemed()) {
      const voucher = state.voucher!;
      const channel = await readChannel(clients.public, paymentChannels, state.channelId);
      if (channel.epoch !== state.epoch) {
        logger.warn("voucher from a finished epoch can no longer be redeemed", { channel: state.channelId.slice(0, 10), epoch: state.epoch });
        store.setRedeemed(state.channelId, state.epoch, voucher.cumulativeAmount);
        continue;
      }
      const payable = voucher.cumulativeAmount < channel.deposit ? voucher.cumulativeAmount : channel.deposit;
      if (payable <= channel.redeemed) {
        store.setRedeemed(state.channelId, state.epoch, channel.redeemed);
        continue;
      }
      closing ||= channel.closesAt !== 0n;
      amount += payable - channel.redeemed;
      vouchers.push({ channelId: voucher.channelId, epoch: voucher.epoch, cumulativeAmount: voucher.cumulativeAmount });
      signatures.push(voucher.signature);
    }
    if (vouchers.length === 0 || (!closing && amount < (options.minAmount ?? 0n))) return { transactionHash: undefined, channels: 0, amount: 0n };
    const hash = await clients.wallet.writeContract({
      address: paymentChannels,
      abi: PaymentChannelsArtifact.abi,
      functionName: "redeemBatch",
      args: [vouchers, signatures],
    });
    const receipt = await clients.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`redeemBatch transaction ${hash} reverted`);
    for (const v of vouchers) {
      const channel = await readChannel(clients.public, paymentChannels, v.channelId);
      store.setRedeemed(v.channelId, v.epoch, channel.redeemed);
    }
    logger.info("redeemed vouchers", { channels: vouchers.length, amount, tx: hash, gas: receipt.gasUsed });
    return { transactionHash: hash, channels: vouchers.length, amount };
  }

  const redeemNow = (): Promise<RedeemResult> => {
    running ??= redeemOnce().finally(() => {
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
      timer = setInterval(tick, options.intervalMs ?? 60_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}

export type Redeemer = ReturnType<typeof createRedeemer>;
