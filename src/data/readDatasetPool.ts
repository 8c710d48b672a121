import { getAddress, type Address, type PublicClient } from "viem";
import { DataPoolArtifact, DataPoolFactoryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { dataPoolFactoryOf } from "./datasetRegistryOf.ts";
import { datasetError } from "./errors.ts";
import { readDatasetOwner } from "./readDatasetOwner.ts";

/**
 * The DataPool that owns dataset `datasetId`'s token now: the owner must be the pool the
 * deployment's DataPoolFactory made for this dataset, and that pool's `datasetId()` this dataset.
 * A contract that merely holds the token is not a pool whose shares can vote: its "balances"
 * could say anything. Throws `dataset_not_owner` otherwise, `dataset_not_found`.
 *
 * @example const pool = await readDatasetPool(client, deployment, 2n);
 */
export async function readDatasetPool(client: PublicClient, deployment: Deployment, datasetId: bigint): Promise<Address> {
  const owner = await readDatasetOwner(client, deployment, datasetId);
  const pool = await client.readContract({ address: dataPoolFactoryOf(deployment), abi: DataPoolFactoryArtifact.abi, functionName: "poolOf", args: [datasetId] });
  if (pool.toLowerCase() !== owner.toLowerCase()) {
    throw datasetError("dataset_not_owner", `Dataset #${datasetId} is not owned by a data pool: its token is owned by ${owner}.`, { status: 403, hint: "A dataset with one owner is granted by that owner alone: `gotong data grant ID --to KEY --key OWNER_KEY`." });
  }
  const poolDataset = await client.readContract({ address: pool, abi: DataPoolArtifact.abi, functionName: "datasetId" });
  if (poolDataset !== datasetId) throw datasetError("dataset_not_owner", `The pool ${pool} owns dataset #${datasetId}'s token but is the pool of dataset #${poolDataset}: its shares are not this dataset's.`, { status: 403 });
  return getAddress(pool);
}

/**
 * The data pool that owns dataset `datasetId`, or undefined when its owner is anyone else (or the
 * deployment has no DataPoolFactory): tells a pool's dataset, granted by vote, from one granted by
 * its owner alone.
 *
 * @example if (await findDatasetPool(client, deployment, 2n)) { … }
 */
export async function findDatasetPool(client: PublicClient, deployment: Deployment, datasetId: bigint): Promise<Address | undefined> {
  if ((deployment as Deployment & { dataPoolFactory?: Address }).dataPoolFactory === undefined) return undefined;
  const owner = await readDatasetOwner(client, deployment, datasetId);
  const pool = await client.readContract({ address: dataPoolFactoryOf(deployment), abi: DataPoolFactoryArtifact.abi, functionName: "poolOf", args: [datasetId] });
  return pool.toLowerCase() === owner.toLowerCase() ? getAddress(pool) : undefined;
}
