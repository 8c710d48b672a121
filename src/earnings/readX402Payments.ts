import type { Address, Hex, PublicClient } from "viem";
import { X402SplitterArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";

/** One `PaymentSplit` of X402Splitter: what one x402 payment (or payee sweep) paid and how it was split. */
export type X402Payment = {
  blockNumber: bigint;
  logIndex: number;
  transactionHash: Hex;
  provider: Address;
  modelId: bigint;
  /** The model token's owner at the split, paid the royalty. */
  royaltyTo: Address;
  amount: bigint;
  providerShare: bigint;
  royalty: bigint;
  fee: bigint;
};

/**
 * Reads X402Splitter's `PaymentSplit` events since the deployment, in chain order: the contract's
 * own record of every x402 split, so totals from them agree with its balances to the base unit.
 * Empty on a deployment without X402Splitter.
 *
 * @example const payments = await readX402Payments(client, deployment);
 */
export async function readX402Payments(client: PublicClient, deployment: Deployment): Promise<X402Payment[]> {
  if (!deployment.x402Splitter) return [];
  try {
    const logs = await client.getContractEvents({
      address: deployment.x402Splitter,
      abi: X402SplitterArtifact.abi,
      eventName: "PaymentSplit",
      fromBlock: BigInt(deployment.startBlock ?? 0),
      toBlock: "latest",
    });
    return logs.map((log) => ({
      blockNumber: log.blockNumber,
      logIndex: log.logIndex,
      transactionHash: log.transactionHash,
      provider: log.args.provider!,
      modelId: log.args.modelId!,
      royaltyTo: log.args.royaltyTo!,
      amount: log.args.amount!,
      providerShare: log.args.providerShare!,
      royalty: log.args.royalty!,
      fee: log.args.fee!,
    }));
  } catch (error) {
    throw toChainError(error, "reading X402Splitter PaymentSplit events");
  }
}
