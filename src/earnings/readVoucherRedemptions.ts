import type { Address, Hex, PublicClient } from "viem";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";

/** One `VoucherRedeemed`: what one redemption paid and how the contract split it. */
export type VoucherRedemption = {
  blockNumber: bigint;
  logIndex: number;
  transactionHash: Hex;
  channelId: Hex;
  provider: Address;
  modelId: bigint;
  amount: bigint;
  providerShare: bigint;
  royalty: bigint;
  fee: bigint;
};

/** Which redemptions to read: all of them, or those of one provider, one model or some channels (indexed, so the node filters). */
export type RedemptionFilter = { provider?: Address; modelId?: bigint; channelIds?: Hex[] };

/**
 * Reads `VoucherRedeemed` events since the deployment, in chain order. These are the contract's
 * own record of every split, so totals computed from them agree with its balances to the base unit.
 *
 * @example const paid = await readVoucherRedemptions(client, deployment, { modelId: 1n });
 */
export async function readVoucherRedemptions(client: PublicClient, deployment: Deployment, filter: RedemptionFilter = {}): Promise<VoucherRedemption[]> {
  if (filter.channelIds?.length === 0) return [];
  try {
    const logs = await client.getContractEvents({
      address: deployment.paymentChannels,
      abi: PaymentChannelsArtifact.abi,
      eventName: "VoucherRedeemed",
      args: { provider: filter.provider, modelId: filter.modelId, channelId: filter.channelIds },
      fromBlock: BigInt(deployment.startBlock ?? 0),
      toBlock: "latest",
    });
    return logs.map((log) => ({
      blockNumber: log.blockNumber,
      logIndex: log.logIndex,
      transactionHash: log.transactionHash,
      channelId: log.args.channelId!,
      provider: log.args.provider!,
      modelId: log.args.modelId!,
      amount: log.args.amount!,
      providerShare: log.args.providerShare!,
      royalty: log.args.royalty!,
      fee: log.args.fee!,
    }));
  } catch (error) {
    throw toChainError(error, "reading VoucherRedeemed events");
  }
}
