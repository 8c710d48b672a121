import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { fundingContract } from "./fundingContract.ts";
import { readPendingUsage } from "./readPendingUsage.ts";
import { readProjects, readRound } from "./readRound.ts";

/** Channels per `recordUsage` transaction: each costs a few thousand gas to read and up to ~70k to credit. */
const BATCH = 100;

/**
 * Counts, for a round that weighs usage, the paid usage of its model projects not counted yet:
 * finds every channel that paid for those models and sends `recordUsage` for those with something
 * pending, in batches. Returns the amount counted.
 *
 * @example const counted = await recordUsage(clients, deployment, roundId);
 */
export async function recordUsage(clients: ChainClients, deployment: Deployment, roundId: bigint): Promise<bigint> {
  const qf = fundingContract(deployment);
  const round = await readRound(clients.public, deployment, roundId);
  if (round.usageWeightBps === 0 || round.finalized) return 0n;
  const projects = await readProjects(clients.public, deployment, round);
  const pending = (await readPendingUsage(clients.public, deployment, roundId, projects)).map((p) => p.channelId);
  let counted = 0n;
  for (let i = 0; i < pending.length; i += BATCH) {
    const { result } = await writeAndWait(clients, { ...qf, functionName: "recordUsage", args: [roundId, pending.slice(i, i + BATCH)] });
    counted += result as bigint;
  }
  return counted;
}
