import type { Address, PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { fundingContract } from "../../funding/fundingContract.ts";
import { getRoundStatus, type RoundStatus } from "../../funding/getRoundStatus.ts";

/** A donation as the funding page lists it. */
export type DonationView = { projectId: number; donor: Address; amount: string; blockNumber: string };

/**
 * Every funding round with its projects, live estimated matches (the reference maths of
 * `src/funding/computeMatches.ts`, as `gotong fund round status` shows them) and donations.
 * Empty when the deployment has no funding contract. Amounts are bigints (JSON writes them as decimal strings).
 *
 * @example const { rounds } = await readFunding(client, deployment);
 */
export async function readFunding(
  client: PublicClient,
  deployment: Deployment,
): Promise<{ available: boolean; address?: Address; chainTime: string; rounds: (RoundStatus & { donations: DonationView[] })[] }> {
  // The chain's clock (the latest block's time), not the browser's: a new round's windows start from it.
  const chainTime = String((await client.getBlock({ blockTag: "latest" })).timestamp);
  if (!deployment.quadraticFunding) return { available: false, chainTime, rounds: [] };
  const qf = fundingContract(deployment);
  const count = await client.readContract({ ...qf, functionName: "roundCount" });
  const donated = await client.getContractEvents({ ...qf, eventName: "Donated", fromBlock: BigInt(deployment.startBlock), toBlock: "latest" });
  const rounds: (RoundStatus & { donations: DonationView[] })[] = [];
  for (let roundId = count; roundId >= 1n; roundId--) {
    const status = await getRoundStatus(client, deployment, roundId);
    const donations: DonationView[] = donated
      .filter((log) => log.args.roundId === roundId)
      .map((log) => ({ projectId: Number(log.args.projectId), donor: log.args.donor as Address, amount: String(log.args.amount), blockNumber: String(log.blockNumber) }));
    rounds.push({ ...status, donations });
  }
  return { available: true, address: qf.address, chainTime, rounds };
}
