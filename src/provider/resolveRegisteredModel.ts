import type { Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import { GotongError } from "../common/errors.ts";
import { readModelIdOfWeights } from "../model/readModelIdOfWeights.ts";

export type RegisteredModel = { modelId: bigint; name: string; weightsHash: Hex; royaltyBps: number };

/**
 * Finds the registry entry for weights with sha256 `weightsHash`. With `modelId`, checks that the
 * registry's hash for that model is this file's, and refuses otherwise: a provider never serves
 * weights other than the ones the model's token names.
 */
export async function resolveRegisteredModel(client: PublicClient, deployment: Deployment, weightsHash: Hex, modelId?: bigint): Promise<RegisteredModel> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const id = modelId ?? (await readModelIdOfWeights(client, deployment, weightsHash));
  if (id === 0n) {
    throw new GotongError(`No model in the registry has weights with sha256 ${weightsHash.slice(2)}`, {
      code: "model_not_registered",
      hint: "Publish the model first (`gotong model publish FILE`), or pass --model-id for an existing entry.",
    });
  }
  let model: { weightsHash: Hex; name: string; royaltyBps: number };
  try {
    model = (await client.readContract({ ...registry, functionName: "getModel", args: [id] })) as typeof model;
  } catch (cause) {
    throw new GotongError(`Model ${id} is not in the registry`, { code: "model_not_found", status: 404, cause });
  }
  if (model.weightsHash.toLowerCase() !== weightsHash.toLowerCase()) {
    throw new GotongError(
      `Refusing to serve: the file's sha256 is ${weightsHash.slice(2)} but registry model ${id} ("${model.name}") expects ${model.weightsHash.slice(2)}`,
      { code: "weights_hash_mismatch", hint: "Use the exact weights that were published for this model; a modified or corrupted file is never served." },
    );
  }
  return { modelId: id, name: model.name, weightsHash: model.weightsHash, royaltyBps: Number(model.royaltyBps) };
}
