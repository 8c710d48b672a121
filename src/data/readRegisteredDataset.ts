import type { Address, Hex, PublicClient } from "viem";
import { DataPoolFactoryArtifact, DatasetRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { datasetRegistryOf } from "./datasetRegistryOf.ts";
import { datasetError } from "./errors.ts";

/** A dataset as the DatasetRegistry records it. */
export type RegisteredDataset = {
  datasetId: bigint;
  name: string;
  contentHash: Hex;
  manifestHash: Hex;
  manifestURI: string;
  /** Who registered it (the `DatasetRegistered` event); undefined if the RPC would not say. */
  creator: Address | undefined;
  /** Who owns its token now: a person, or a data pool. */
  owner: Address;
  /** The DataPool that registered it (`creator` is then the pool) and who created that pool, when a pool did. */
  pool: { address: Address; creator: Address | undefined } | undefined;
};

/**
 * Reads a registered dataset: its entry, who registered it and who owns it now. Throws
 * `dataset_not_found` for an id that was never issued.
 *
 * @example const { manifestHash, creator } = await readRegisteredDataset(client, deployment, 1n);
 */
export async function readRegisteredDataset(client: PublicClient, deployment: Deployment, datasetId: bigint): Promise<RegisteredDataset> {
  const registry = { address: datasetRegistryOf(deployment), abi: DatasetRegistryArtifact.abi } as const;
  const exists = await client.readContract({ ...registry, functionName: "exists", args: [datasetId] }).catch((error: unknown) => {
    throw toChainError(error, "exists");
  });
  if (!exists) {
    throw datasetError("dataset_not_found", `No dataset #${datasetId} in the DatasetRegistry at ${registry.address} (chain ${deployment.chainId}).`, {
      status: 404,
      hint: "Check the id (`gotong data list` shows them), and that --deployment points at the network it was published on.",
    });
  }
  try {
    const [entry, owner] = await Promise.all([
      client.readContract({ ...registry, functionName: "getDataset", args: [datasetId] }),
      client.readContract({ ...registry, functionName: "ownerOf", args: [datasetId] }),
    ]);
    let creator: Address | undefined;
    try {
      const events = await client.getContractEvents({ ...registry, eventName: "DatasetRegistered", args: { datasetId }, fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" });
      creator = events[0]?.args.owner;
    } catch {
      // Some public RPCs refuse wide log queries; the entry and owner stand on their own.
      creator = undefined;
    }
    const pool = await readPool(client, deployment, datasetId, creator);
    return { datasetId, name: entry.name, contentHash: entry.contentHash, manifestHash: entry.manifestHash, manifestURI: entry.manifestURI, creator, owner, pool };
  } catch (error) {
    throw toChainError(error, "getDataset");
  }
}

/** The pool that registered `datasetId` through the deployment's factory, and the pool's creator. */
async function readPool(client: PublicClient, deployment: Deployment, datasetId: bigint, registrant: Address | undefined): Promise<RegisteredDataset["pool"]> {
  const address = (deployment as Deployment & { dataPoolFactory?: Address }).dataPoolFactory;
  if (address === undefined) return undefined;
  const factory = { address, abi: DataPoolFactoryArtifact.abi } as const;
  const pool = await client.readContract({ ...factory, functionName: "poolOf", args: [datasetId] });
  if (pool === "0x0000000000000000000000000000000000000000" || (registrant !== undefined && pool.toLowerCase() !== registrant.toLowerCase())) return undefined;
  const created = await client
    .getContractEvents({ ...factory, eventName: "DataPoolCreated", args: { datasetId }, fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" })
    .catch(() => []);
  return { address: pool, creator: created[0]?.args.creator };
}
