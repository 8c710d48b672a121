import { parseEventLogs, type Address, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { DataPoolArtifact, DataPoolFactoryArtifact, PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { dataPoolFactoryOf } from "./datasetRegistryOf.ts";
import { datasetError } from "./errors.ts";

/** What a pool claim did. Amounts in token base units. */
export type PoolClaim = { datasetId: bigint; pool: Address; collected: bigint; amount: bigint; transactionHash: Hex };

/**
 * Claims the caller's part of what dataset `datasetId`'s data pool earned: first `collect`s the
 * dataset's earnings waiting in PaymentChannels into the pool (permissionless), then `claim`s,
 * which pays the caller its part by the shares it held while the money arrived. The amount is the
 * one the pool paid, from its `Claimed` event.
 *
 * @example const { amount } = await claimPoolShare(clients, deployment, 2n);
 */
export async function claimPoolShare(clients: ChainClients, deployment: Deployment, datasetId: bigint): Promise<PoolClaim> {
  const pool = await clients.public.readContract({ address: dataPoolFactoryOf(deployment), abi: DataPoolFactoryArtifact.abi, functionName: "poolOf", args: [datasetId] });
  if (pool === "0x0000000000000000000000000000000000000000") {
    throw datasetError("dataset_not_found", `Dataset #${datasetId} is not owned by a data pool.`, { status: 404, hint: "A dataset with one owner is withdrawn with `gotong data withdraw ID`." });
  }
  const contract = { address: pool, abi: DataPoolArtifact.abi } as const;
  let collected = 0n;
  const waiting = await clients.public.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "datasetEarnings", args: [datasetId] });
  if (waiting > 0n) {
    const { receipt } = await writeAndWait(clients, { ...contract, functionName: "collect", args: [] });
    collected = parseEventLogs({ abi: DataPoolArtifact.abi, eventName: "Collected", logs: receipt.logs }).reduce((sum, e) => sum + e.args.amount, 0n);
  }
  const claimable = await clients.public.readContract({ ...contract, functionName: "claimable", args: [clients.account.address] });
  if (claimable === 0n) {
    throw new GotongError(`${clients.account.address} has nothing to claim from the pool of dataset #${datasetId}`, { code: "nothing_to_withdraw", hint: "A pool pays its holders when models trained on its dataset earn; `gotong earnings` shows your shares." });
  }
  const { hash, receipt } = await writeAndWait(clients, { ...contract, functionName: "claim", args: [] });
  const [event] = parseEventLogs({ abi: DataPoolArtifact.abi, eventName: "Claimed", logs: receipt.logs });
  if (!event) throw new GotongError(`claim ${hash} was mined without a Claimed event`, { code: "chain_error", status: 502 });
  return { datasetId, pool, collected, amount: event.args.amount, transactionHash: hash };
}
