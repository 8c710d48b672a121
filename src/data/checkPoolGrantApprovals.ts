import { getAddress, type Address, type PublicClient } from "viem";
import { DataPoolArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { GotongError } from "../common/errors.ts";
import type { DatasetPoolGrant } from "./datasetPoolGrant.ts";
import { datasetRegistryOf } from "./datasetRegistryOf.ts";
import { datasetError } from "./errors.ts";
import { readDatasetPool } from "./readDatasetPool.ts";
import { recoverPoolGrantApprovals } from "./recoverPoolGrantApprovals.ts";

/** The code of a pool grant whose approvals hold half of the shares or less. */
const NOT_APPROVED = "dataset_grant_not_approved" as const;

/** What the vote came to, in pool share base units. */
export type PoolGrantTally = { pool: Address; atBlock: bigint; approved: bigint; totalSupply: bigint; holders: Address[] };

/**
 * Checks that a pool grant carries its pool's consent: the dataset's token is owned by the named
 * pool, which is the pool *of this dataset*; every approval is its holder's genuine signature of
 * this grant, each holder once; and the approving holders' balances at block `atBlock` add up to
 * strictly more than half the pool's total shares then. Balances are read at `atBlock`, so shares
 * moved after it change nothing. Throws `dataset_not_owner` (not the pool's dataset, or no
 * majority, naming the approving total and what was needed), `dataset_grant_invalid` (bad
 * signature, duplicate, block in the future, pool not yet created at that block), `chain_error`
 * when the node cannot answer state at `atBlock` (a pruned, non-archive node).
 *
 * @example const { approved, totalSupply } = await checkPoolGrantApprovals(client, deployment, grant);
 */
export async function checkPoolGrantApprovals(client: PublicClient, deployment: Deployment, grant: DatasetPoolGrant): Promise<PoolGrantTally> {
  const invalid = (message: string) => datasetError("dataset_grant_invalid", message, { hint: "Ask the dataset's key holder for a new grant request." });
  if (deployment.chainId !== grant.chainId) throw invalid(`The grant is for chain ${grant.chainId}, not chain ${deployment.chainId}.`);
  const registry = getAddress(datasetRegistryOf(deployment));
  if (registry !== grant.datasetRegistry) throw invalid(`The grant is for the DatasetRegistry at ${grant.datasetRegistry}, not this deployment's (${registry}).`);
  const datasetId = BigInt(grant.datasetId);
  const pool = { address: await readDatasetPool(client, deployment, datasetId), abi: DataPoolArtifact.abi } as const;
  if (pool.address !== getAddress(grant.pool)) {
    throw datasetError("dataset_not_owner", `The grant names pool ${grant.pool} for dataset #${datasetId}, but the dataset is owned by pool ${pool.address}.`, { status: 403, hint: "A pool grant counts the votes of the pool that owns the dataset." });
  }

  const holders = await recoverPoolGrantApprovals(grant);

  const atBlock = BigInt(grant.atBlock);
  const latest = await client.getBlockNumber();
  if (atBlock > latest) throw invalid(`The grant counts shares at block ${atBlock}, after the chain's latest block (${latest}).`);
  const unanswerable = (cause: unknown) =>
    new GotongError(`The node cannot answer the chain's state at block ${atBlock} (latest ${latest}), so the pool's shares at that block cannot be counted.`, {
      code: "chain_error",
      status: 502,
      hint: "Use an archive node (one that keeps old state) in the deployment's rpcUrl, or ask for a grant request counted at a recent block.",
      cause,
    });
  let code;
  try {
    code = await client.getCode({ address: grant.pool, blockNumber: atBlock });
  } catch (cause) {
    throw unanswerable(cause);
  }
  if (code === undefined || code === "0x") throw invalid(`The pool ${grant.pool} did not exist yet at block ${atBlock}: its shares can only be counted from the block it was created in.`);
  let totalSupply: bigint;
  let balances: bigint[];
  try {
    totalSupply = await client.readContract({ ...pool, functionName: "totalSupply", blockNumber: atBlock });
    balances = await Promise.all(holders.map((holder) => client.readContract({ ...pool, functionName: "balanceOf", args: [holder], blockNumber: atBlock })));
  } catch (cause) {
    throw unanswerable(cause);
  }
  const approved = balances.reduce((sum, b) => sum + b, 0n);
  // Strictly more than half: exactly half is a tie, and a tie does not release the key.
  if (approved * 2n <= totalSupply) {
    const needed = totalSupply / 2n + 1n;
    throw datasetError(NOT_APPROVED, `The grant of dataset #${datasetId} is not approved by the pool: its ${holders.length} approval(s) hold ${approved} of ${totalSupply} shares at block ${atBlock}; more than half, at least ${needed}, is needed.`, {
      status: 403,
      hint: "Collect approvals (`gotong data approve-grant REQUEST`) from more holders, counted at the request's block.",
    });
  }
  return { pool: grant.pool, atBlock, approved, totalSupply, holders };
}
