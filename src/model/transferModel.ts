import type { Address, Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { readModelOwner } from "./readModelOwner.ts";

/**
 * Transfers model `modelId`'s token from the caller to `to` with ERC-721 `safeTransferFrom` (a
 * contract that cannot hold ERC-721 tokens is refused). Unwithdrawn royalties go with the token
 * (PaymentChannels credits them to the model id): withdraw them first with
 * `withdrawModelRoyalties` if they are the seller's. Refuses before sending when the caller is not
 * the owner.
 *
 * @example const { transactionHash } = await transferModel(clients, deployment, 1n, "0x…");
 */
export async function transferModel(clients: ChainClients, deployment: Deployment, modelId: bigint, to: Address): Promise<{ transactionHash: Hex }> {
  const me = clients.account.address;
  const owner = await readModelOwner(clients.public, deployment, modelId);
  if (owner.toLowerCase() !== me.toLowerCase()) {
    throw new GotongError(`Model #${modelId} is owned by ${owner}, not by ${me}`, { code: "not_model_owner", hint: "Only the token's owner can transfer it: pass --key FILE with the owner's key." });
  }
  const { hash } = await writeAndWait(clients, { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "safeTransferFrom", args: [me, to, modelId] });
  return { transactionHash: hash };
}
