import type { PublicClient } from "viem";
import { PaymentChannelsArtifact, X402SplitterArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";

/** Protocol fees credited to the funding pool and not yet collected, by the contract holding them. */
export type PendingProtocolFees = {
  /** Held by PaymentChannels: the fees of redeemed vouchers. */
  vouchers: bigint;
  /** Held by X402Splitter: the fees of settled x402 payments (0 on a deployment without it). */
  x402: bigint;
  /** Both: what `collectProtocolFees` (or finalizing the protocol round) moves into funding now. */
  total: bigint;
};

/**
 * Reads the protocol fees waiting to be collected into funding: the funding pool's earnings in
 * PaymentChannels and in X402Splitter, the two sources QuadraticFunding collects from.
 *
 * @example const { total } = await readPendingProtocolFees(client, deployment);
 */
export async function readPendingProtocolFees(client: PublicClient, deployment: Deployment): Promise<PendingProtocolFees> {
  const [vouchers, x402] = await Promise.all([
    client.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "earnings", args: [deployment.fundingPool] }),
    deployment.x402Splitter
      ? client.readContract({ address: deployment.x402Splitter, abi: X402SplitterArtifact.abi, functionName: "earnings", args: [deployment.fundingPool] })
      : Promise.resolve(0n),
  ]);
  return { vouchers, x402, total: vouchers + x402 };
}
