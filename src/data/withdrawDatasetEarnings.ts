import { parseEventLogs, type Address, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { datasetError } from "./errors.ts";
import { readDatasetOwner } from "./readDatasetOwner.ts";

/** What a dataset earnings withdrawal paid, from the contract's `DatasetEarningsWithdrawn` event. */
export type DatasetWithdrawal = { datasetId: bigint; amount: bigint; to: Address; transactionHash: Hex };

/**
 * Withdraws what dataset `datasetId` earned (its shares of models' royalties) to the caller, who
 * must own its token now. Refuses before sending when someone else owns it or nothing is waiting.
 * A dataset owned by a data pool is withdrawn by the pool (`collect`), not by a person.
 *
 * @example const { amount } = await withdrawDatasetEarnings(clients, deployment, 1n);
 */
export async function withdrawDatasetEarnings(clients: ChainClients, deployment: Deployment, datasetId: bigint): Promise<DatasetWithdrawal> {
  const me = clients.account.address;
  const owner = await readDatasetOwner(clients.public, deployment, datasetId);
  if (owner.toLowerCase() !== me.toLowerCase()) {
    throw datasetError("dataset_not_owner", `Dataset #${datasetId} is owned by ${owner}, not by ${me}.`, { status: 403, hint: "Only the token's current owner can withdraw its earnings: pass --key FILE with the owner's key (a data pool collects its own)." });
  }
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const pending = await clients.public.readContract({ ...channels, functionName: "datasetEarnings", args: [datasetId] });
  if (pending === 0n) {
    throw new GotongError(`Dataset #${datasetId} has no earnings to withdraw`, { code: "nothing_to_withdraw", hint: "Shares reach a dataset when the royalties of models trained on it flow (`gotong model withdraw` or PaymentChannels.flowRoyalties)." });
  }
  const { hash, receipt } = await writeAndWait(clients, { ...channels, functionName: "withdrawDatasetEarnings", args: [datasetId, me] });
  const [event] = parseEventLogs({ abi: PaymentChannelsArtifact.abi, eventName: "DatasetEarningsWithdrawn", logs: receipt.logs });
  if (!event) throw new GotongError(`withdrawDatasetEarnings ${hash} was mined without a DatasetEarningsWithdrawn event`, { code: "chain_error", status: 502 });
  return { datasetId, amount: event.args.amount, to: event.args.to, transactionHash: hash };
}
