import type { Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { toChainError } from "../chain/writeAndWait.ts";

/**
 * The channels through which any of `modelIds` has been paid: every channel with a redeemed voucher
 * for one of them since the deployment's start block (from `VoucherRedeemed`, whose model id is
 * indexed). These are the channels `recordUsage` needs to see.
 *
 * @example const channelIds = await findModelChannels(client, deployment, [1n, 2n]);
 */
export async function findModelChannels(client: PublicClient, deployment: Deployment, modelIds: readonly bigint[]): Promise<Hex[]> {
  if (modelIds.length === 0) return [];
  try {
    const logs = await client.getContractEvents({
      address: deployment.paymentChannels,
      abi: PaymentChannelsArtifact.abi,
      eventName: "VoucherRedeemed",
      args: { modelId: [...modelIds] },
      fromBlock: BigInt(deployment.startBlock),
      toBlock: "latest",
    });
    return [...new Set(logs.map((log) => log.args.channelId as Hex))];
  } catch (error) {
    throw toChainError(error, "finding the channels that paid for the round's models");
  }
}
