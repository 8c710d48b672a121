import type { Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { LINEAGE_LIMITS } from "./lineageLimits.ts";
import { readModelOwner } from "./readModelOwner.ts";

/**
 * Sets a model's licence terms for derivatives (`ModelRegistry.setDerivativeTerms`): the least
 * share of their royalty that models registered from now on naming it as a parent must pay it.
 * Derivatives already registered keep the share they were registered with. Only the token's owner
 * may; refused before sending when the caller is not the owner or the share is above 9000 bps.
 *
 * @example await setDerivativeTerms(clients, deployment, 1n, 2000); // derivatives pay at least 20 %
 */
export async function setDerivativeTerms(clients: ChainClients, deployment: Deployment, modelId: bigint, minShareBps: number): Promise<{ transactionHash: Hex }> {
  const owner = await readModelOwner(clients.public, deployment, modelId);
  if (owner.toLowerCase() !== clients.account.address.toLowerCase()) {
    throw new GotongError(`Model #${modelId} is owned by ${owner}, not by ${clients.account.address}`, { code: "not_model_owner", hint: "Only the token's owner sets its terms: pass --key FILE with the owner's key." });
  }
  if (!Number.isInteger(minShareBps) || minShareBps < 0 || minShareBps > LINEAGE_LIMITS.maxStackBps) {
    throw new GotongError(`A derivative's minimum share must be 0 to ${LINEAGE_LIMITS.maxStackBps} bps, not ${minShareBps}`, { code: "invalid_arguments", hint: "Shares are basis points of the derivative's royalty: 2000 is 20%." });
  }
  const { hash } = await writeAndWait(clients, { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "setDerivativeTerms", args: [modelId, minShareBps] });
  return { transactionHash: hash };
}
