import type { Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import { chainTime } from "./chainTime.ts";
import { computeMatches } from "./computeMatches.ts";
import { fundingContract } from "./fundingContract.ts";
import { readPendingProtocolFees } from "./readPendingProtocolFees.ts";
import { readPendingUsage } from "./readPendingUsage.ts";
import { readProjects, readRound, type Project, type Round } from "./readRound.ts";
import { addToTally, type Tally } from "./tally.ts";

/** Where a round is in its life. Applications and donations can be open at the same time. */
export type RoundPhase = "upcoming" | "open" | "ended" | "finalized";

/** One project in a round's status. */
export type ProjectStatus = {
  projectId: number;
  /** The model (0n for an address project) and its registered name. */
  modelId: bigint;
  modelName: string | undefined;
  /** Who may claim now. */
  claimant: Address;
  rejected: boolean;
  claimed: boolean;
  /** Donations received, and from how many distinct donors (identities). */
  donated: bigint;
  donors: bigint;
  /** Paid usage counted on-chain, and from how many distinct payers. */
  usage: bigint;
  payers: bigint;
  /** Paid usage not counted yet (it will be by `recordUsage` or finalization); included in the estimate. */
  pendingUsage: bigint;
  /** The match from donations and from usage: exact once finalized, a live estimate before. */
  donationMatch: bigint;
  usageMatch: bigint;
  match: bigint;
  /** What the project receives when it claims: donations + match. */
  payout: bigint;
};

/** A round's state, with every project's live estimated match. */
export type RoundStatus = {
  round: Round;
  phase: RoundPhase;
  applicationsOpen: boolean;
  donationsOpen: boolean;
  /** The chain's time the status was read at. */
  now: bigint;
  /** Whether protocol fees feed this round now. */
  protocolRound: boolean;
  /** Protocol fees not yet collected that would join the pool (protocol round, not finalized). */
  pendingProtocolFees: bigint;
  /** The pool the matches are computed from: the fixed pool once finalized, else pool + pending fees. */
  pool: bigint;
  /** Donations received by every project together. */
  donated: bigint;
  /** True until finalization: matches are what the round would pay if finalized now. */
  estimate: boolean;
  donationPool: bigint;
  usagePool: bigint;
  allocated: bigint;
  unallocated: bigint;
  projects: ProjectStatus[];
};

/**
 * Reads a round and computes every project's match with the reference maths (`computeMatches`):
 * after finalization the result equals the contract's; before, it is what finalizing now would pay,
 * counting protocol fees not collected yet and paid usage not recorded yet.
 *
 * @example const status = await getRoundStatus(client, deployment, 1n);
 */
export async function getRoundStatus(client: PublicClient, deployment: Deployment, roundId: bigint): Promise<RoundStatus> {
  const qf = fundingContract(deployment);
  const [round, now] = await Promise.all([readRound(client, deployment, roundId), chainTime(client)]);
  const projects = await readProjects(client, deployment, round);
  const protocolRoundId = await client.readContract({ ...qf, functionName: "protocolRoundId" });
  const protocolRound = protocolRoundId === roundId && !round.finalized;
  // Finalizing collects from PaymentChannels and X402Splitter both, so the estimate counts both.
  const pendingProtocolFees = protocolRound ? (await readPendingProtocolFees(client, deployment)).total : 0n;

  const usageTallies = projects.map((p) => p.usage);
  const pendingUsage = projects.map(() => 0n);
  if (round.usageWeightBps > 0 && !round.finalized && now >= round.donationStart) {
    await foldPendingUsage(client, deployment, round, projects, usageTallies, pendingUsage);
  }

  const pool = round.pool + pendingProtocolFees;
  const result = computeMatches({
    pool,
    matchingCapBps: round.matchingCapBps,
    usageWeightBps: round.usageWeightBps,
    projects: projects.map((p, i) => ({ donations: p.donations, usage: usageTallies[i]! })),
  });
  const names = await Promise.all(projects.map((p) => (p.modelId === 0n ? undefined : modelName(client, deployment, p.modelId))));

  return {
    round,
    phase: round.finalized ? "finalized" : now >= round.donationEnd ? "ended" : now >= round.applicationStart ? "open" : "upcoming",
    applicationsOpen: now >= round.applicationStart && now < round.applicationEnd,
    donationsOpen: now >= round.donationStart && now < round.donationEnd,
    now,
    protocolRound,
    pendingProtocolFees,
    pool,
    donated: projects.reduce((sum, p) => sum + p.donations.amount, 0n),
    estimate: !round.finalized,
    donationPool: result.donationPool,
    usagePool: result.usagePool,
    allocated: result.allocated,
    unallocated: result.unallocated,
    projects: projects.map((p, i) => {
      const m = result.projects[i]!;
      return {
        projectId: p.projectId,
        modelId: p.modelId,
        modelName: names[i],
        claimant: p.claimant,
        rejected: p.rejected,
        claimed: p.claimed,
        donated: p.donations.amount,
        donors: p.donations.contributors,
        usage: p.usage.amount,
        payers: usageTallies[i]!.contributors,
        pendingUsage: pendingUsage[i]!,
        donationMatch: m.donationMatch,
        usageMatch: m.usageMatch,
        match: m.match,
        payout: p.donations.amount + m.match,
      };
    }),
  };
}

/**
 * Adds to each project's usage tally the paid usage `recordUsage` would count now, exactly as the
 * contract would (per payer identity, from its current total), so estimates include it.
 */
async function foldPendingUsage(
  client: PublicClient,
  deployment: Deployment,
  round: Round,
  projects: Project[],
  tallies: Tally[],
  pending: bigint[],
): Promise<void> {
  const qf = fundingContract(deployment);
  const byPayer = new Map<string, { projectIndex: number; payerKey: Hex; amount: bigint }>();
  for (const { projectId, payerKey, amount } of await readPendingUsage(client, deployment, round.roundId, projects)) {
    const key = `${projectId}:${payerKey}`;
    const entry = byPayer.get(key) ?? { projectIndex: Number(projectId) - 1, payerKey, amount: 0n };
    entry.amount += amount;
    byPayer.set(key, entry);
  }
  for (const { projectIndex, payerKey, amount } of byPayer.values()) {
    const before = await client.readContract({ ...qf, functionName: "usageOf", args: [round.roundId, BigInt(projectIndex + 1), payerKey] });
    tallies[projectIndex] = addToTally(tallies[projectIndex]!, before, before + amount, round.donorCap);
    pending[projectIndex] = pending[projectIndex]! + amount;
  }
}

/** A model's registered name, or undefined when it cannot be read. */
async function modelName(client: PublicClient, deployment: Deployment, modelId: bigint): Promise<string | undefined> {
  try {
    const model = await client.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "getModel", args: [modelId] });
    return model.name;
  } catch {
    return undefined;
  }
}
