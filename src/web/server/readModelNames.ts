import type { PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { ModelRegistryArtifact } from "../../chain/contracts.generated.ts";

/**
 * The registered name of each model id given, read once per distinct id; undefined for an id the
 * registry does not answer for.
 *
 * @example const names = await readModelNames(client, deployment, channels.map((c) => c.modelId));
 */
export async function readModelNames(client: PublicClient, deployment: Deployment, modelIds: Iterable<bigint>): Promise<Map<bigint, string | undefined>> {
  const ids = [...new Set(modelIds)];
  const names = await Promise.all(
    ids.map((modelId) =>
      client.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "getModel", args: [modelId] }).then(
        (model) => model.name,
        () => undefined,
      ),
    ),
  );
  return new Map(ids.map((id, i) => [id, names[i]]));
}
