import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { ensureAllowance } from "./ensureAllowance.ts";
import { fundingContract } from "./fundingContract.ts";
import { readRound } from "./readRound.ts";

/**
 * Adds `amount` of the round's token to its matching pool (until the round is finalized) and
 * returns the amount added.
 *
 * @example await fundPool(funder, deployment, { roundId, amount: 1_000_000_000n });
 */
export async function fundPool(clients: ChainClients, deployment: Deployment, options: { roundId: bigint; amount: bigint }): Promise<bigint> {
  if (options.amount <= 0n) throw new GotongError("A pool top-up must be above zero", { code: "invalid_arguments", param: "amount" });
  const qf = fundingContract(deployment);
  const round = await readRound(clients.public, deployment, options.roundId);
  await ensureAllowance(clients, round.token, qf.address, options.amount);
  const { result } = await writeAndWait(clients, { ...qf, functionName: "fundPool", args: [options.roundId, options.amount] });
  return result as bigint;
}
