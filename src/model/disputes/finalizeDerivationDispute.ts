import type { Hex, PublicClient } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import { DerivationCourtArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { writeAndWait } from "../../chain/writeAndWait.ts";
import { GotongError } from "../../common/errors.ts";
import { derivationCourtOf } from "./derivationCourtOf.ts";
import { readDerivationDispute, type DerivationDispute } from "./readDerivationDispute.ts";

/**
 * Decides a dispute that can be decided (DerivationCourt.finalize; anyone may). Validators
 * finalize their own cases; this is for when none did. Refused before sending while it cannot be.
 *
 * @example const dispute = await finalizeDerivationDispute(clients, deployment, caseId);
 */
export async function finalizeDerivationDispute(clients: ChainClients, deployment: Deployment, caseId: Hex): Promise<DerivationDispute> {
  const dispute = await readDerivationDispute(clients.public, deployment, caseId);
  if (dispute.outcome !== "open") return dispute;
  if (!dispute.decidable) {
    throw new GotongError(`Dispute ${caseId} cannot be decided yet: ${dispute.reveals} of 3 votes revealed, and the reveal phase ends at ${new Date(Number(dispute.revealDeadline) * 1000).toISOString()}`, {
      code: "dispute_undecided",
      hint: "Wait for the validators (`gotong model dispute status ID`), or until the reveal deadline.",
    });
  }
  await writeAndWait(clients, { address: derivationCourtOf(deployment), abi: DerivationCourtArtifact.abi, functionName: "finalize", args: [caseId] });
  return readDerivationDispute(clients.public, deployment, caseId);
}

/**
 * Waits until a dispute is decided, finalizing it when it can be and nobody has, and calls
 * `onProgress` whenever the votes change. Gives up with `dispute_undecided` after `timeoutMs`.
 */
export async function waitForDisputeVerdict(
  clients: ChainClients | { public: PublicClient },
  deployment: Deployment,
  caseId: Hex,
  options: { timeoutMs: number; pollMs?: number; onProgress?: (dispute: DerivationDispute) => void },
): Promise<DerivationDispute> {
  const deadline = Date.now() + options.timeoutMs;
  let seen = "";
  for (;;) {
    let dispute = await readDerivationDispute(clients.public, deployment, caseId);
    const progress = `${dispute.commits}/${dispute.reveals}/${dispute.outcome}`;
    if (progress !== seen) options.onProgress?.(dispute);
    seen = progress;
    if (dispute.outcome !== "open") return dispute;
    if (dispute.decidable && "account" in clients) {
      try {
        dispute = await finalizeDerivationDispute(clients, deployment, caseId);
        if (dispute.outcome !== "open") return dispute;
      } catch {
        // A validator finalized it first: read it again next round.
      }
    }
    if (Date.now() > deadline) {
      throw new GotongError(`Dispute ${caseId} is still undecided after ${Math.round(options.timeoutMs / 1000)} s (${dispute.commits} committed, ${dispute.reveals} revealed)`, {
        code: "dispute_undecided",
        hint: "The validators have until the deadlines; follow it with `gotong model dispute status ID`.",
      });
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1_000));
  }
}
