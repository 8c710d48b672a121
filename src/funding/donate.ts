import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { ensureAllowance } from "./ensureAllowance.ts";
import { fundingContract } from "./fundingContract.ts";
import { readRound } from "./readRound.ts";

/**
 * Donates `amount` of the round's token to a project (approving the funding contract first when
 * needed) and returns the amount credited (less than `amount` only for a token that takes a fee on
 * transfer).
 *
 * @example const credited = await donate(donor, deployment, { roundId, projectId, amount: 5_000_000n });
 */
export async function donate(clients: ChainClients, deployment: Deployment, options: { roundId: bigint; projectId: bigint; amount: bigint }): Promise<bigint> {
  if (options.amount <= 0n) throw new GotongError("A donation must be above zero", { code: "invalid_arguments", param: "amount" });
  const qf = fundingContract(deployment);
  const round = await readRound(clients.public, deployment, options.roundId);
  await ensureAllowance(clients, round.token, qf.address, options.amount);
  const { result } = await writeAndWait(clients, { ...qf, functionName: "donate", args: [options.roundId, options.projectId, options.amount] });
  return result as bigint;
}
