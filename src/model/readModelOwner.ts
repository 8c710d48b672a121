import type { Address, PublicClient } from "viem";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";

/**
 * Who owns model `modelId`'s token now (and so may withdraw its royalties, change its royalty and
 * transfer it). Throws `model_not_found` for an id the registry never issued.
 *
 * @example const owner = await readModelOwner(client, deployment, 1n);
 */
export async function readModelOwner(client: PublicClient, deployment: Deployment, modelId: bigint): Promise<Address> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  try {
    if (!(await client.readContract({ ...registry, functionName: "exists", args: [modelId] }))) {
      throw new GotongError(`No model #${modelId} in the registry at ${deployment.modelRegistry} (chain ${deployment.chainId})`, {
        code: "model_not_found",
        status: 404,
        hint: "Check the id (`gotong earnings` lists the models you own), and that --deployment points at the right network.",
      });
    }
    return await client.readContract({ ...registry, functionName: "ownerOf", args: [modelId] });
  } catch (error) {
    throw toChainError(error, "reading the model's owner");
  }
}
