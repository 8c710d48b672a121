import type { Address, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { fundingContract } from "./fundingContract.ts";
import type { Tally } from "./tally.ts";

/** A round as the contract holds it. Times are unix seconds; amounts are token base units. */
export type Round = {
  roundId: bigint;
  operator: Address;
  token: Address;
  attestations: Address;
  issuers: Address[];
  applicationStart: bigint;
  applicationEnd: bigint;
  donationStart: bigint;
  donationEnd: bigint;
  matchingCapBps: number;
  usageWeightBps: number;
  donorCap: bigint;
  projectCount: number;
  finalized: boolean;
  protocolFunded: boolean;
  pool: bigint;
  donationWeight: bigint;
  usageWeight: bigint;
  donationPool: bigint;
  usagePool: bigint;
  unallocated: bigint;
};

/** A project of a round as the contract holds it. */
export type Project = {
  projectId: number;
  /** The model (0n for an address project). */
  modelId: bigint;
  /** The project's address (zero for a model project: its token's owner claims). */
  recipient: Address;
  /** Who may claim now: the model token's owner, or the project's address. */
  claimant: Address;
  rejected: boolean;
  claimed: boolean;
  donations: Tally;
  usage: Tally;
};

type RawTally = { sqrtSum: bigint; counted: bigint; amount: bigint; contributors: bigint };
const tally = (t: RawTally): Tally => ({ sqrtSum: t.sqrtSum, counted: t.counted, amount: t.amount, contributors: BigInt(t.contributors) });

/**
 * Reads a round and its issuers. Throws a GotongError naming `RoundNotFound` for an unknown id.
 *
 * @example const round = await readRound(client, deployment, 1n);
 */
export async function readRound(client: PublicClient, deployment: Deployment, roundId: bigint): Promise<Round> {
  const qf = fundingContract(deployment);
  try {
    const [r, issuers] = await Promise.all([
      client.readContract({ ...qf, functionName: "getRound", args: [roundId] }),
      client.readContract({ ...qf, functionName: "issuersOf", args: [roundId] }),
    ]);
    return {
      roundId,
      operator: r.operator,
      token: r.token,
      attestations: r.attestations,
      issuers: [...issuers],
      applicationStart: BigInt(r.applicationStart),
      applicationEnd: BigInt(r.applicationEnd),
      donationStart: BigInt(r.donationStart),
      donationEnd: BigInt(r.donationEnd),
      matchingCapBps: Number(r.matchingCapBps),
      usageWeightBps: Number(r.usageWeightBps),
      donorCap: r.donorCap,
      projectCount: Number(r.projectCount),
      finalized: r.finalized,
      protocolFunded: r.protocolFunded,
      pool: r.pool,
      donationWeight: r.donationWeight,
      usageWeight: r.usageWeight,
      donationPool: r.donationPool,
      usagePool: r.usagePool,
      unallocated: r.unallocated,
    };
  } catch (error) {
    throw toChainError(error, `reading round ${roundId}`);
  }
}

/**
 * Reads every project of a round (rejected ones included, flagged), with who may claim each now.
 *
 * @example const projects = await readProjects(client, deployment, round);
 */
export async function readProjects(client: PublicClient, deployment: Deployment, round: Round): Promise<Project[]> {
  const qf = fundingContract(deployment);
  const ids = Array.from({ length: round.projectCount }, (_, i) => BigInt(i + 1));
  try {
    return await Promise.all(
      ids.map(async (projectId) => {
        const [p, claimant] = await Promise.all([
          client.readContract({ ...qf, functionName: "getProject", args: [round.roundId, projectId] }),
          client.readContract({ ...qf, functionName: "recipientOf", args: [round.roundId, projectId] }),
        ]);
        return {
          projectId: Number(projectId),
          modelId: BigInt(p.modelId),
          recipient: p.recipient,
          claimant,
          rejected: p.rejected,
          claimed: p.claimed,
          donations: tally(p.donations),
          usage: tally(p.usage),
        };
      }),
    );
  } catch (error) {
    throw toChainError(error, `reading the projects of round ${round.roundId}`);
  }
}
