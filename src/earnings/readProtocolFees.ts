import type { PublicClient } from "viem";
import { PaymentChannelsArtifact, QuadraticFundingArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { addToSplit, emptySplit, type PaymentSplit } from "./paymentSplit.ts";
import { readVoucherRedemptions } from "./readVoucherRedemptions.ts";

/** The protocol fee's side of the books, and the split of everything paid on the network. */
export type ProtocolFees = {
  /** The fee new channels open with, in basis points (fixed per channel when it opens). */
  feeBps: number;
  /** Every fee credited to the funding pool by a redemption (`VoucherRedeemed.fee`). */
  credited: bigint;
  /** Credited and not yet moved into funding (`PaymentChannels.earnings(fundingPool)`). */
  pending: bigint;
  /** Moved into quadratic-funding pools by `collectProtocolFees` (`ProtocolFeesCollected`). */
  collected: bigint;
  /** Every redemption on this deployment, split into royalty, fee and provider share. */
  network: PaymentSplit;
};

/**
 * Reads the protocol fees: what redemptions credited to the funding pool, what is still held by
 * PaymentChannels, and what `collectProtocolFees` moved into funding rounds; plus the split of
 * all money paid on this deployment, so one can see where it went.
 *
 * @example const { pending, collected } = await readProtocolFees(client, deployment);
 */
export async function readProtocolFees(client: PublicClient, deployment: Deployment): Promise<ProtocolFees> {
  try {
    const [redemptions, pending, collections] = await Promise.all([
      readVoucherRedemptions(client, deployment),
      client.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "earnings", args: [deployment.fundingPool] }),
      deployment.quadraticFunding
        ? client.getContractEvents({
            address: deployment.quadraticFunding,
            abi: QuadraticFundingArtifact.abi,
            eventName: "ProtocolFeesCollected",
            fromBlock: BigInt(deployment.startBlock ?? 0),
            toBlock: "latest",
          })
        : Promise.resolve([]),
    ]);
    const network = emptySplit();
    for (const r of redemptions) addToSplit(network, r);
    const collected = collections.reduce((sum, log) => sum + (log.args.amount ?? 0n), 0n);
    return { feeBps: deployment.protocolFeeBps, credited: network.fee, pending, collected, network };
  } catch (error) {
    throw toChainError(error, "reading protocol fees");
  }
}
