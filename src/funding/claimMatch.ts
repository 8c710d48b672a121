import type { Address } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { fundingContract } from "./fundingContract.ts";

/**
 * Claims a project's donations and match from a finalized round, as its recipient (for a model
 * project, the current owner of the model's token), to `to` (default: the caller). Returns the
 * amount paid. Refuses anyone else, a second claim, and a round not finalized.
 *
 * @example const paid = await claimMatch(creator, deployment, { roundId, projectId });
 */
export async function claimMatch(clients: ChainClients, deployment: Deployment, options: { roundId: bigint; projectId: bigint; to?: Address }): Promise<bigint> {
  const qf = fundingContract(deployment);
  const claimant = await clients.public.readContract({ ...qf, functionName: "recipientOf", args: [options.roundId, options.projectId] }).catch(() => undefined);
  if (claimant && claimant.toLowerCase() !== clients.account.address.toLowerCase()) {
    throw new GotongError(`Only ${claimant} can claim for project ${options.projectId} of round ${options.roundId}`, {
      code: "not_recipient",
      hint: "Claim with the key that owns the model's token (or the project's address): --key FILE.",
    });
  }
  const { result } = await writeAndWait(clients, { ...qf, functionName: "claim", args: [options.roundId, options.projectId, options.to ?? clients.account.address] });
  return result as bigint;
}
