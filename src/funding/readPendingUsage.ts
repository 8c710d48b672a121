import type { Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { findModelChannels } from "./findModelChannels.ts";
import { fundingContract } from "./fundingContract.ts";
import type { Project } from "./readRound.ts";

/** Paid usage through one channel that the round has not counted yet, and whom it counts for. */
export type PendingUsage = { channelId: Hex; projectId: bigint; payerKey: Hex; amount: bigint };

/**
 * Every channel that paid for one of the round's model projects (rejected ones left out) and holds
 * usage not counted yet, as the contract's `pendingUsage` reports it: what `recordUsage` would count now.
 *
 * @example const pending = await readPendingUsage(client, deployment, roundId, projects);
 */
export async function readPendingUsage(client: PublicClient, deployment: Deployment, roundId: bigint, projects: readonly Project[]): Promise<PendingUsage[]> {
  const qf = fundingContract(deployment);
  const modelIds = projects.filter((p) => !p.rejected && p.modelId !== 0n).map((p) => p.modelId);
  const channels = await findModelChannels(client, deployment, modelIds);
  const pending: PendingUsage[] = [];
  for (const channelId of channels) {
    const [projectId, payerKey, amount] = await client.readContract({ ...qf, functionName: "pendingUsage", args: [roundId, channelId] });
    if (amount > 0n) pending.push({ channelId, projectId, payerKey, amount });
  }
  return pending;
}
