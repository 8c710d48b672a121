import type { PublicClient } from "viem";
import { QuadraticFundingArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { readPendingProtocolFees } from "../funding/readPendingProtocolFees.ts";
import { addToSplit, emptySplit, type PaymentSplit } from "./paymentSplit.ts";
import { readVoucherRedemptions } from "./readVoucherRedemptions.ts";
import { readX402Payments } from "./readX402Payments.ts";

/** The protocol fee's side of the books, and the split of everything paid on the network. */
export type ProtocolFees = {
  /** The fee new channels open with, in basis points (fixed per channel when it opens). */
  feeBps: number;
  /**
   * Every fee credited to the funding pool: by redemptions (`VoucherRedeemed.fee`) and by x402
   * payments (X402Splitter's `PaymentSplit.fee`).
   */
  credited: bigint;
  /** Credited and not yet moved into funding (the funding pool's earnings in PaymentChannels and X402Splitter). */
  pending: bigint;
  /** Moved into quadratic-funding pools by `collectProtocolFees` (`ProtocolFeesCollected`). */
  collected: bigint;
  /** The part of `credited` and `pending` that x402 payments brought (0 on a deployment without X402Splitter). */
  x402: { credited: bigint; pending: bigint };
  /** Every redemption and x402 payment on this deployment, split into royalty, fee and provider share. */
  network: PaymentSplit;
};

/**
 * Reads the protocol fees: what redemptions and x402 payments credited to the funding pool, what
 * PaymentChannels and X402Splitter still hold, and what `collectProtocolFees` moved into funding
 * rounds; plus the split of all money paid on this deployment, so one can see where it went.
 *
 * @example const { pending, collected } = await readProtocolFees(client, deployment);
 */
export async function readProtocolFees(client: PublicClient, deployment: Deployment): Promise<ProtocolFees> {
  try {
    const [redemptions, x402Payments, pending, collections] = await Promise.all([
      readVoucherRedemptions(client, deployment),
      readX402Payments(client, deployment),
      readPendingProtocolFees(client, deployment),
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
    let x402Credited = 0n;
    for (const p of x402Payments) {
      addToSplit(network, p);
      x402Credited += p.fee;
    }
    const collected = collections.reduce((sum, log) => sum + (log.args.amount ?? 0n), 0n);
    return {
      feeBps: deployment.protocolFeeBps,
      credited: network.fee,
      pending: pending.total,
      collected,
      x402: { credited: x402Credited, pending: pending.x402 },
      network,
    };
  } catch (error) {
    throw toChainError(error, "reading protocol fees");
  }
}
