import { erc20Abi, parseEventLogs, type Hex } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import { DerivationCourtArtifact, ModelRegistryArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { toChainError, writeAndWait } from "../../chain/writeAndWait.ts";
import { GotongError, type GotongErrorCode } from "../../common/errors.ts";
import { RELATION_CODES, type ModelRelation } from "../modelRelation.ts";
import { readModelOwner } from "../readModelOwner.ts";
import { derivationCourtOf } from "./derivationCourtOf.ts";
import { readDerivationDispute, type DerivationDispute } from "./readDerivationDispute.ts";

/**
 * Opens a dispute claiming that `childId` is an undeclared derivative of `parentId`, the caller's
 * model (DerivationCourt.open): three validators run both models and vote; on "derivative" the
 * parent joins the child's lineage at its derivative terms. Checks first what the court would
 * refuse (the caller owns the parent, the parent is older, it asks a share of derivatives, the
 * child does not name it already, the caller has the bond and fee), so a refusal costs no gas
 * and says what to do; then approves exactly `bond + fee` and opens.
 *
 * @example const dispute = await openDerivationDispute(clients, deployment, { childId: 9n, parentId: 1n, relation: "quantisation" });
 */
export async function openDerivationDispute(
  clients: ChainClients,
  deployment: Deployment,
  claim: { childId: bigint; parentId: bigint; relation: ModelRelation },
): Promise<DerivationDispute & { transactionHash: Hex }> {
  const court = { address: derivationCourtOf(deployment), abi: DerivationCourtArtifact.abi } as const;
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const { childId, parentId } = claim;
  const me = clients.account.address;
  const bad = (message: string, hint: string, code: GotongErrorCode = "invalid_arguments") => new GotongError(message, { code, hint });

  if (childId === parentId) throw bad(`Model #${childId} cannot derive from itself`, "Name the derivative and the older model it was made from.");
  const parentOwner = await readModelOwner(clients.public, deployment, parentId);
  const childOwner = await readModelOwner(clients.public, deployment, childId);
  if (parentId > childId) throw bad(`Model #${parentId} was registered after #${childId}, so #${childId} cannot derive from it`, `A model can only derive from an older one: did you mean \`--parent ${childId}\` on model ${parentId}?`);
  if (parentOwner.toLowerCase() !== me.toLowerCase()) throw bad(`Model #${parentId} is owned by ${parentOwner}, not by ${me}`, "Only the parent's owner opens a dispute for it: pass --key FILE with the owner's key.", "not_model_owner");
  if (childOwner.toLowerCase() === me.toLowerCase()) throw bad(`You own both models (#${parentId} and #${childId}): there is nobody to dispute with`, "Nothing to dispute.");
  let terms: number, parents: readonly { modelId: bigint }[], bond: bigint, fee: bigint, balance: bigint;
  try {
    [terms, parents, bond, fee, balance] = await Promise.all([
      clients.public.readContract({ ...registry, functionName: "minDerivativeShareBps", args: [parentId] }),
      clients.public.readContract({ ...registry, functionName: "parentsOf", args: [childId] }),
      clients.public.readContract({ ...court, functionName: "bond" }),
      clients.public.readContract({ ...court, functionName: "fee" }),
      clients.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [me] }),
    ]);
  } catch (error) {
    throw toChainError(error, "reading the dispute's terms");
  }
  if (terms === 0) throw bad(`Model #${parentId} asks no share of its derivatives, so a verdict would add it to #${childId}'s lineage with nothing to pay`, `Set its terms first: \`gotong model set-derivative-terms ${parentId} BPS\`.`);
  if (parents.some((p) => p.modelId === parentId)) throw bad(`Model #${childId} already names #${parentId} as a parent`, `It pays it already: \`gotong model lineage ${childId}\`.`);
  const open = (await clients.public.readContract({ ...court, functionName: "openCaseOf", args: [childId, parentId] })) as Hex;
  if (!/^0x0{64}$/.test(open)) throw bad(`A dispute between #${childId} and #${parentId} is open already: ${open}`, `Follow it: \`gotong model dispute status ${open}\`.`, "dispute_open");
  if (balance < bond + fee) {
    throw new GotongError(`Opening a dispute takes a bond of ${bond} and a fee of ${fee} base units; ${me} holds ${balance}`, { code: "insufficient_funds", status: 402, hint: "The bond comes back on a derivative verdict; the fee pays the validators. Send the account tokens (on the devnet: `gotong devnet fund ADDRESS --tokens 100`)." });
  }
  await writeAndWait(clients, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [court.address, bond + fee] });
  const { hash, receipt } = await writeAndWait(clients, { ...court, functionName: "open", args: [childId, parentId, RELATION_CODES[claim.relation]] });
  const [opened] = parseEventLogs({ abi: DerivationCourtArtifact.abi, eventName: "DisputeOpened", logs: receipt.logs });
  if (!opened) throw new GotongError(`The dispute transaction ${hash} emitted no DisputeOpened event`, { code: "chain_error" });
  return { ...(await readDerivationDispute(clients.public, deployment, opened.args.caseId)), transactionHash: hash };
}
