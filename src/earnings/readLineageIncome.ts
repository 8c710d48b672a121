import type { Address, PublicClient } from "viem";
import { DataPoolArtifact, DataPoolFactoryArtifact, DatasetRegistryArtifact, ModelRegistryArtifact, PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { readModelDerivatives } from "../model/readModelDerivatives.ts";

/** What one derivative paid (or owes) one of the account's models. Amounts in token base units. */
export type AncestorIncome = {
  /** The account's model: the parent. */
  modelId: bigint;
  /** The derivative that pays it. */
  childId: bigint;
  shareBps: number;
  /** Flowed into the parent's royalties so far (`ParentShareFlowed`). */
  flowed: bigint;
  /** The parent's share of the child's royalties that have not flowed yet: `flowRoyalties(childId)` moves it. */
  pending: bigint;
};

/** What one dataset the account owns or owned earned, and where it stands. */
export type DatasetIncome = {
  datasetId: bigint;
  name: string;
  owner: Address;
  ownedNow: boolean;
  /** Every share models paid it (`DatasetShareFlowed`), under any owner. */
  earned: bigint;
  /** Its shares of models' royalties that have not flowed yet. */
  pending: bigint;
  /** Withdrawn by this account (`DatasetEarningsWithdrawn`). */
  withdrawnByYou: bigint;
  /** `PaymentChannels.datasetEarnings`; this account's to withdraw when `ownedNow`. */
  withdrawable: bigint;
};

/** An account's part of a data pool: its ERC-20 shares of a dataset with many contributors. */
export type PoolIncome = {
  pool: Address;
  datasetId: bigint;
  shares: bigint;
  totalShares: bigint;
  /** `DataPool.claimable`: its part of what the pool collected, less what it claimed. */
  claimable: bigint;
  /** `DataPool.claimedBy`. */
  claimed: bigint;
  /** What the dataset earned and the pool has not collected yet (`datasetEarnings`): `collect` moves it in. */
  uncollected: bigint;
};

/** An account's income from lineage: shares its models receive from derivatives, its datasets' earnings, its data-pool parts. */
export type LineageIncome = { ancestor: AncestorIncome[]; datasets: DatasetIncome[]; pools: PoolIncome[] };

/**
 * Reads what an account earns as an ancestor and as a data owner: for every model it owns or owned,
 * the share each derivative paid it (`ParentShareFlowed`) and still owes it (its share of the
 * derivative's `pendingRoyalties`); for every dataset it owns or owned, what models paid it, what
 * it withdrew and what is withdrawable now. Empty on deployments made before lineage.
 *
 * @example const { ancestor, datasets } = await readLineageIncome(client, deployment, "0x…");
 */
export async function readLineageIncome(client: PublicClient, deployment: Deployment, account: Address): Promise<LineageIncome> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const range = { fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" } as const;
  const me = account.toLowerCase();
  try {
    const received = await client.getContractEvents({ ...registry, eventName: "Transfer", args: { to: account }, ...range });
    const modelIds = [...new Set(received.map((log) => log.args.tokenId!))];
    const ancestor = (
      await Promise.all(
        modelIds.map(async (modelId) =>
          (await readModelDerivatives(client, deployment, modelId)).map(
            (child): AncestorIncome => ({ modelId, childId: child.modelId, shareBps: child.shareBps, flowed: child.paidToParent, pending: child.pendingToParent }),
          ),
        ),
      )
    ).flat();

    const datasetRegistryAddress = (deployment as Deployment & { datasetRegistry?: Address }).datasetRegistry;
    if (datasetRegistryAddress === undefined) return { ancestor, datasets: [], pools: [] };
    const datasetRegistry = { address: datasetRegistryAddress, abi: DatasetRegistryArtifact.abi } as const;
    const got = await client.getContractEvents({ ...datasetRegistry, eventName: "Transfer", args: { to: account }, ...range });
    const datasetIds = [...new Set(got.map((log) => log.args.tokenId!))];
    const datasets = await Promise.all(
      datasetIds.map(async (datasetId): Promise<DatasetIncome> => {
        const [info, owner, withdrawable, flows, withdrawals, uses] = await Promise.all([
          client.readContract({ ...datasetRegistry, functionName: "getDataset", args: [datasetId] }),
          client.readContract({ ...datasetRegistry, functionName: "ownerOf", args: [datasetId] }),
          client.readContract({ ...channels, functionName: "datasetEarnings", args: [datasetId] }),
          client.getContractEvents({ ...channels, eventName: "DatasetShareFlowed", args: { datasetId }, ...range }),
          client.getContractEvents({ ...channels, eventName: "DatasetEarningsWithdrawn", args: { datasetId }, ...range }),
          client.getContractEvents({ ...registry, eventName: "DatasetUsed", args: { datasetId }, ...range }),
        ]);
        let pending = 0n;
        for (const use of uses) pending += ((await client.readContract({ ...channels, functionName: "pendingRoyalties", args: [use.args.modelId!] })) * BigInt(use.args.shareBps!)) / 10_000n;
        return {
          datasetId,
          name: info.name,
          owner,
          ownedNow: owner.toLowerCase() === me,
          earned: flows.reduce((sum, f) => sum + f.args.amount!, 0n),
          pending,
          withdrawnByYou: withdrawals.filter((w) => w.args.owner!.toLowerCase() === me).reduce((sum, w) => sum + w.args.amount!, 0n),
          withdrawable,
        };
      }),
    );
    return { ancestor, datasets, pools: await readPools(client, deployment, account) };
  } catch (error) {
    throw toChainError(error, "reading lineage income");
  }
}

/** Every data pool of the deployment's factory in which `account` holds shares or has claimed. */
async function readPools(client: PublicClient, deployment: Deployment, account: Address): Promise<PoolIncome[]> {
  const factory = (deployment as Deployment & { dataPoolFactory?: Address }).dataPoolFactory;
  if (factory === undefined) return [];
  const created = await client.getContractEvents({ address: factory, abi: DataPoolFactoryArtifact.abi, eventName: "DataPoolCreated", fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" });
  const pools = await Promise.all(
    created.map(async (event): Promise<PoolIncome> => {
      const pool = { address: event.args.pool!, abi: DataPoolArtifact.abi } as const;
      const datasetId = event.args.datasetId!;
      const [shares, totalShares, claimable, claimed, uncollected] = await Promise.all([
        client.readContract({ ...pool, functionName: "balanceOf", args: [account] }),
        client.readContract({ ...pool, functionName: "totalSupply" }),
        client.readContract({ ...pool, functionName: "claimable", args: [account] }),
        client.readContract({ ...pool, functionName: "claimedBy", args: [account] }),
        client.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "datasetEarnings", args: [datasetId] }),
      ]);
      return { pool: pool.address, datasetId, shares, totalShares, claimable, claimed, uncollected };
    }),
  );
  return pools.filter((p) => p.shares > 0n || p.claimed > 0n || p.claimable > 0n);
}
