import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { chainTime } from "./chainTime.ts";
import { fundingContract } from "./fundingContract.ts";
import { readRound } from "./readRound.ts";
import { recordUsage } from "./recordUsage.ts";

/** What finalizing did. */
export type FinalizeResult = {
  /** Usage counted just before finalizing (rounds that weigh usage). */
  usageRecorded: bigint;
  /** The pool, fixed now (protocol fees collected first for a protocol round). */
  pool: bigint;
  /** The sum of every project's match. */
  allocated: bigint;
  /** What the matches left of the pool. */
  unallocated: bigint;
};

/**
 * Finalizes a round once its donation window has ended: first counts any paid usage not counted yet
 * (when the round weighs usage), then fixes the pool and computes every match. Refuses, with a
 * clear error, a round still open or already finalized.
 *
 * @example const { allocated } = await finalizeRound(clients, deployment, roundId);
 */
export async function finalizeRound(clients: ChainClients, deployment: Deployment, roundId: bigint): Promise<FinalizeResult> {
  const round = await readRound(clients.public, deployment, roundId);
  if (round.finalized) {
    throw new GotongError(`Round ${roundId} is already finalized`, { code: "round_finalized", hint: `Its projects can claim: \`gotong fund round claim ${roundId} PROJECT\`.` });
  }
  const now = await chainTime(clients.public);
  if (now < round.donationEnd) {
    throw new GotongError(`Round ${roundId} is still taking donations until ${new Date(Number(round.donationEnd) * 1000).toISOString()}`, {
      code: "round_open",
      hint: "A round can be finalized from the end of its donation window on.",
    });
  }
  const usageRecorded = await recordUsage(clients, deployment, roundId);
  const { result } = await writeAndWait(clients, { ...fundingContract(deployment), functionName: "finalize", args: [roundId] });
  const after = await readRound(clients.public, deployment, roundId);
  const allocated = result as bigint;
  return { usageRecorded, pool: after.pool, allocated, unallocated: after.pool - allocated };
}
