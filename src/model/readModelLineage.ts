import type { Address, PublicClient } from "viem";
import { DatasetRegistryArtifact, ModelRegistryArtifact, PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { datasetRegistryOf } from "../data/datasetRegistryOf.ts";
import { relationOfCode, type ModelRelation } from "./modelRelation.ts";
import { readRegisteredModel } from "./readRegisteredModel.ts";

/** A dataset a model names, and what it earned from that model. Amounts in token base units. */
export type LineageDataset = { datasetId: bigint; name: string; owner: Address; shareBps: number; earnedFromChild: bigint; pendingFromChild: bigint };

/** A model and everything it derives from, as the registry recorded it at registration. */
export type ModelLineage = {
  modelId: bigint;
  name: string;
  owner: Address;
  royaltyBps: number;
  /** Longest chain of ancestors above it (0 for a base model). */
  depth: number;
  /** Royalties that stayed with this model after its parents' and datasets' shares flowed (`RoyaltiesFlowed.kept`). */
  kept: bigint;
  /** Royalties credited to it that have not flowed yet (`pendingRoyalties`); its parents' shares of them are their `pendingFromChild`. */
  pending: bigint;
  parents: {
    relation: ModelRelation | `unknown(${number})`;
    shareBps: number;
    /** What flowed to the parent from this model so far (`ParentShareFlowed`). */
    earnedFromChild: bigint;
    /** The parent's share of this model's royalties that have not flowed yet. */
    pendingFromChild: bigint;
    node: ModelLineage;
  }[];
  datasets: LineageDataset[];
};

/**
 * Reads a model's lineage tree from the chain: its parents and datasets with their shares (fixed at
 * registration), each ancestor's own lineage up to the base models, and what each ancestor and
 * dataset earned from its child (the `ParentShareFlowed` / `DatasetShareFlowed` events of
 * PaymentChannels, plus its share of what is still pending). Throws `model_not_found`.
 *
 * @example const tree = await readModelLineage(client, deployment, 5n);
 */
export async function readModelLineage(client: PublicClient, deployment: Deployment, modelId: bigint): Promise<ModelLineage> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const range = { fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" } as const;
  const seen = new Map<bigint, Promise<ModelLineage>>();
  const read = (id: bigint): Promise<ModelLineage> => {
    // A merge can reach one ancestor by two paths: read it once.
    let node = seen.get(id);
    if (node === undefined) seen.set(id, (node = readNode(id)));
    return node;
  };
  const readNode = async (id: bigint): Promise<ModelLineage> => {
    const entry = await readRegisteredModel(client, deployment, id);
    try {
      const [parents, datasets, depth, pending, flowed, parentFlows, datasetFlows] = await Promise.all([
        client.readContract({ ...registry, functionName: "parentsOf", args: [id] }),
        client.readContract({ ...registry, functionName: "datasetsOf", args: [id] }),
        client.readContract({ ...registry, functionName: "depthOf", args: [id] }),
        client.readContract({ ...channels, functionName: "pendingRoyalties", args: [id] }),
        client.getContractEvents({ ...channels, eventName: "RoyaltiesFlowed", args: { modelId: id }, ...range }),
        client.getContractEvents({ ...channels, eventName: "ParentShareFlowed", args: { modelId: id }, ...range }),
        client.getContractEvents({ ...channels, eventName: "DatasetShareFlowed", args: { modelId: id }, ...range }),
      ]);
      const sum = (logs: readonly { args: { amount?: bigint } }[]) => logs.reduce((total, log) => total + log.args.amount!, 0n);
      const parentNodes = await Promise.all(parents.map((p) => read(p.modelId)));
      const datasetRegistry = datasets.length > 0 ? { address: datasetRegistryOf(deployment), abi: DatasetRegistryArtifact.abi } : undefined;
      const datasetNodes = await Promise.all(
        datasets.map(async (d): Promise<LineageDataset> => {
          const [info, owner] = await Promise.all([
            client.readContract({ ...datasetRegistry!, functionName: "getDataset", args: [d.datasetId] }),
            client.readContract({ ...datasetRegistry!, functionName: "ownerOf", args: [d.datasetId] }),
          ]);
          const earned = sum(datasetFlows.filter((log) => log.args.datasetId === d.datasetId));
          return { datasetId: d.datasetId, name: info.name, owner, shareBps: d.shareBps, earnedFromChild: earned, pendingFromChild: (pending * BigInt(d.shareBps)) / 10_000n };
        }),
      );
      return {
        modelId: id,
        name: entry.name,
        owner: entry.owner,
        royaltyBps: entry.royaltyBps,
        depth,
        kept: flowed.reduce((total, log) => total + log.args.kept!, 0n),
        pending,
        parents: parents.map((p, i) => ({
          relation: relationOfCode(p.relation) ?? (`unknown(${p.relation})` as const),
          shareBps: p.shareBps,
          earnedFromChild: sum(parentFlows.filter((log) => log.args.parentId === p.modelId)),
          pendingFromChild: (pending * BigInt(p.shareBps)) / 10_000n,
          node: parentNodes[i]!,
        })),
        datasets: datasetNodes,
      };
    } catch (error) {
      throw toChainError(error, `reading the lineage of model #${id}`);
    }
  };
  return read(modelId);
}
