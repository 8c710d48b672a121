import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { fundingContract } from "./fundingContract.ts";

/**
 * Moves the protocol fees PaymentChannels (voucher redeems) and X402Splitter (x402 payments) hold
 * for the funding contract into the protocol round's pool (or the reserve, when no protocol round
 * is open), in one transaction: the contract collects from both. Anyone may do it. Returns the
 * amount moved.
 *
 * @example const moved = await collectProtocolFees(clients, deployment);
 */
export async function collectProtocolFees(clients: ChainClients, deployment: Deployment): Promise<bigint> {
  const { result } = await writeAndWait(clients, { ...fundingContract(deployment), functionName: "collectProtocolFees", args: [] });
  return result as bigint;
}
