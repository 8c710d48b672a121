import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { fundingContract } from "./fundingContract.ts";

/**
 * Joins a round as a project: with a model the caller owns (its match goes to whoever owns the
 * model's token when claiming), or without one as the caller's own address (a lab, a team).
 * Returns the project's id.
 *
 * @example const projectId = await applyToRound(creator, deployment, { roundId, modelId });
 */
export async function applyToRound(clients: ChainClients, deployment: Deployment, options: { roundId: bigint; modelId?: bigint }): Promise<bigint> {
  const { result } = await writeAndWait(clients, { ...fundingContract(deployment), functionName: "applyProject", args: [options.roundId, options.modelId ?? 0n] });
  return result as bigint;
}
