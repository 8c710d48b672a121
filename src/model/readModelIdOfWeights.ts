import type { Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import { toChainError } from "../chain/writeAndWait.ts";

/**
 * The id the registry knows these weights by (see `computeWeightsHash`), or 0n when they are not
 * registered.
 *
 * @example const modelId = await readModelIdOfWeights(client, deployment, computeWeightsHash(files));
 */
export async function readModelIdOfWeights(client: PublicClient, deployment: Deployment, weightsHash: Hex): Promise<bigint> {
  try {
    return await client.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "modelIdOfWeights", args: [weightsHash] });
  } catch (error) {
    throw toChainError(error, "modelIdOfWeights");
  }
}
