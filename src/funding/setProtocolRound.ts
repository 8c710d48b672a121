import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { fundingContract } from "./fundingContract.ts";

/**
 * Designates, as the steward, the round the protocol fee feeds; the reserve held since the last
 * protocol round moves into its pool.
 *
 * @example await setProtocolRound(steward, deployment, roundId);
 */
export async function setProtocolRound(steward: ChainClients, deployment: Deployment, roundId: bigint): Promise<void> {
  await writeAndWait(steward, { ...fundingContract(deployment), functionName: "setProtocolRound", args: [roundId] });
}
