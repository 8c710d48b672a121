import type { Address, Hex, PublicClient } from "viem";
import { DerivationCourtArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { toChainError } from "../../chain/writeAndWait.ts";
import { GotongError } from "../../common/errors.ts";
import { isDecidable } from "../../validator/caseOutcome.ts";
import { relationOfCode, type ModelRelation } from "../modelRelation.ts";
import { derivationCourtOf } from "./derivationCourtOf.ts";

/** A dispute's outcome as the court records it. */
export type DisputeOutcome = "open" | "derivative" | "not_derivative" | "no_quorum";
const OUTCOMES: readonly DisputeOutcome[] = ["open", "derivative", "not_derivative", "no_quorum"];

/** A dispute as `gotong model dispute status` shows it. */
export type DerivationDispute = {
  caseId: Hex;
  childId: bigint;
  parentId: bigint;
  claimant: Address;
  relation: ModelRelation | undefined;
  /** The share the parent is added with on a derivative verdict, in basis points. */
  shareBps: number;
  outcome: DisputeOutcome;
  validators: readonly Address[];
  commits: number;
  reveals: number;
  /** Unix seconds (chain time). */
  commitDeadline: bigint;
  revealDeadline: bigint;
  bond: bigint;
  fee: bigint;
  /** Whether `finalize` would succeed now (undecided, and all revealed or a deadline passed). */
  decidable: boolean;
};

type ChainCase = {
  claimant: Address; commitDeadline: bigint; childId: bigint; parentId: bigint; revealDeadline: bigint; relation: number; shareBps: number;
  outcome: number; commits: number; reveals: number; bond: bigint; fee: bigint; validators: readonly Address[];
};

/**
 * Reads a derivation dispute from the court, with whether it can be decided now. Throws
 * `dispute_not_found` for an id the court never issued.
 *
 * @example const dispute = await readDerivationDispute(client, deployment, caseId);
 */
export async function readDerivationDispute(client: PublicClient, deployment: Deployment, caseId: Hex): Promise<DerivationDispute> {
  const address = derivationCourtOf(deployment);
  let c: ChainCase;
  let now: bigint;
  try {
    c = (await client.readContract({ address, abi: DerivationCourtArtifact.abi, functionName: "getCase", args: [caseId] })) as unknown as ChainCase;
    now = (await client.getBlock({ blockTag: "latest" })).timestamp;
  } catch (error) {
    throw toChainError(error, "reading the dispute");
  }
  if (/^0x0{40}$/i.test(c.claimant)) {
    throw new GotongError(`No derivation dispute ${caseId} at the court ${address}`, { code: "dispute_not_found", status: 404, hint: "Check the case id that `gotong model dispute open` printed, and --deployment." });
  }
  const outcome = OUTCOMES[c.outcome] ?? "open";
  const decidable = outcome === "open" && isDecidable(c, now);
  return {
    caseId,
    childId: c.childId,
    parentId: c.parentId,
    claimant: c.claimant,
    relation: relationOfCode(c.relation),
    shareBps: c.shareBps,
    outcome,
    validators: c.validators,
    commits: c.commits,
    reveals: c.reveals,
    commitDeadline: c.commitDeadline,
    revealDeadline: c.revealDeadline,
    bond: c.bond,
    fee: c.fee,
    decidable,
  };
}
