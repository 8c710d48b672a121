import type { Address, PublicClient } from "viem";
import { DatasetRegistryArtifact, PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { datasetRegistryOf } from "./datasetRegistryOf.ts";

/** One registered dataset as `gotong data list` shows it. Amounts in token base units. */
export type DatasetListing = { datasetId: bigint; name: string; creator: Address; owner: Address; manifestURI: string; withdrawable: bigint };

/**
 * Every dataset registered on this deployment (from `DatasetRegistered` events), with its owner
 * now and the earnings PaymentChannels holds for it; only those `owner` owns when given.
 *
 * @example const mine = await listDatasets(client, deployment, { owner: "0x…" });
 */
export async function listDatasets(client: PublicClient, deployment: Deployment, options: { owner?: Address } = {}): Promise<DatasetListing[]> {
  const registry = { address: datasetRegistryOf(deployment), abi: DatasetRegistryArtifact.abi } as const;
  try {
    const events = await client.getContractEvents({ ...registry, eventName: "DatasetRegistered", fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" });
    const all = await Promise.all(
      events.map(async (event): Promise<DatasetListing> => {
        const datasetId = event.args.datasetId!;
        const [owner, withdrawable] = await Promise.all([
          client.readContract({ ...registry, functionName: "ownerOf", args: [datasetId] }),
          client.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "datasetEarnings", args: [datasetId] }),
        ]);
        return { datasetId, name: event.args.name!, creator: event.args.owner!, owner, manifestURI: event.args.manifestURI!, withdrawable };
      }),
    );
    return options.owner === undefined ? all : all.filter((d) => d.owner.toLowerCase() === options.owner!.toLowerCase());
  } catch (error) {
    throw toChainError(error, "listing datasets");
  }
}
