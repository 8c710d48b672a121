import type { Address, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import type { PendingPasses, StoredVote } from "./createValidatorStore.ts";
import { ServingVerificationArtifact } from "../chain/contracts.generated.ts";

/** What `gotong validator status` shows. */
export type ValidatorStatus = {
  address: Address;
  registered: boolean;
  /** Staked at least the minimum: drawn for cases and allowed to attest. */
  active: boolean;
  stake: bigint;
  unstaking: bigint;
  minStake: bigint;
  endpoint: string;
  record: { agreed: bigint; disagreed: bigint; missed: bigint };
  /** Undecided cases the chain counts it drawn in. */
  openCases: number;
  /** Votes of this machine's store not known decided yet. */
  votes: Pick<StoredVote, "caseId" | "fraud" | "reason" | "state" | "commitDeadline" | "revealDeadline">[];
  /** Passes counted here and not yet attested on-chain, by provider. */
  pendingPasses: PendingPasses[];
  /** Credited to the validator (shares of slashes, bonds and penalties), withdrawable. */
  earnings: bigint;
  token: Deployment["token"];
};

/** Reads a validator's registration, record and earnings from the chain, beside what its store holds. */
export async function readValidatorStatus(
  client: PublicClient,
  deployment: Deployment,
  servingVerification: Address,
  address: Address,
  local: { votes: ValidatorStatus["votes"]; pendingPasses: ValidatorStatus["pendingPasses"] },
): Promise<ValidatorStatus> {
  const contract = { address: servingVerification, abi: ServingVerificationArtifact.abi } as const;
  const [v, active, minStake, endpoint, earnings] = await Promise.all([
    client.readContract({ ...contract, functionName: "getValidator", args: [address] }),
    client.readContract({ ...contract, functionName: "isValidator", args: [address] }),
    client.readContract({ ...contract, functionName: "minValidatorStake" }),
    client.readContract({ ...contract, functionName: "validatorEndpoint", args: [address] }),
    client.readContract({ ...contract, functionName: "earnings", args: [address] }),
  ]);
  return {
    address,
    registered: v.registered,
    active,
    stake: v.stake,
    unstaking: v.unstaking,
    minStake,
    endpoint,
    record: { agreed: v.agreed, disagreed: v.disagreed, missed: v.missed },
    openCases: v.openCases,
    // Picked field by field: a salt never leaves the store (an unrevealed one would let anyone read the vote).
    votes: local.votes.map(({ caseId, fraud, reason, state, commitDeadline, revealDeadline }) => ({ caseId, fraud, reason, state, commitDeadline, revealDeadline })),
    pendingPasses: local.pendingPasses,
    earnings,
    token: deployment.token,
  };
}
