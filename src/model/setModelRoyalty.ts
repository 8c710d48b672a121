import type { Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { checkRoyaltyBps } from "./readMaxRoyaltyBps.ts";
import { readModelOwner } from "./readModelOwner.ts";

/**
 * Changes a model's royalty (`ModelRegistry.setRoyalty`): channels opened from now on use it, open
 * channels keep the royalty they opened with. Only the token's owner may; refused before sending
 * when the caller is not the owner or the royalty is above the registry's maximum.
 *
 * @example await setModelRoyalty(clients, deployment, 1n, 500);
 */
export async function setModelRoyalty(clients: ChainClients, deployment: Deployment, modelId: bigint, royaltyBps: number): Promise<{ transactionHash: Hex }> {
  const owner = await readModelOwner(clients.public, deployment, modelId);
  if (owner.toLowerCase() !== clients.account.address.toLowerCase()) {
    throw new GotongError(`Model #${modelId} is owned by ${owner}, not by ${clients.account.address}`, { code: "not_model_owner", hint: "Only the token's owner can change its royalty: pass --key FILE with the owner's key." });
  }
  await checkRoyaltyBps(clients.public, deployment, royaltyBps);
  const { hash } = await writeAndWait(clients, { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "setRoyalty", args: [modelId, royaltyBps] });
  return { transactionHash: hash };
}
