import type { PublicClient } from "viem";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { modelError } from "./errors.ts";
import type { ManifestParent } from "./modelManifest.ts";
import type { ParentOption } from "./parseLineageOptions.ts";

/**
 * Fills in and checks the parents' shares against the chain before anything is hashed or signed:
 * each parent must exist (ids only ever point at older models, so a lineage cannot loop), a parent
 * given without a share pays its owner's licence minimum (`minDerivativeShareBps`), and a share
 * below that minimum is refused, naming both. The registry checks all of this again.
 *
 * @example const parents = await resolveParentShares(client, deployment, [{ modelId: "7", relation: "fine-tune", shareBps: undefined }]);
 */
export async function resolveParentShares(client: PublicClient, deployment: Deployment, parents: readonly ParentOption[]): Promise<ManifestParent[]> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  return Promise.all(
    parents.map(async (parent): Promise<ManifestParent> => {
      const modelId = BigInt(parent.modelId);
      let exists: boolean;
      let minimum: number;
      try {
        exists = await client.readContract({ ...registry, functionName: "exists", args: [modelId] });
        minimum = exists ? await client.readContract({ ...registry, functionName: "minDerivativeShareBps", args: [modelId] }) : 0;
      } catch (error) {
        throw toChainError(error, "reading the parent's terms");
      }
      if (!exists) {
        throw modelError("model_not_found", `Parent model #${modelId} does not exist in the registry at ${deployment.modelRegistry}.`, {
          status: 404,
          hint: "A parent must be registered before its derivatives: check the id with `gotong model lineage ID` or `gotong earnings`.",
        });
      }
      const shareBps = parent.shareBps ?? minimum;
      if (shareBps < minimum) {
        throw modelError("model_share_below_terms", `Model #${modelId}'s licence asks its derivatives for at least ${minimum} bps of their royalty; you offered ${shareBps}.`, {
          hint: `Pay it at least the minimum: --parent ${modelId}:${minimum} (or leave the share out to pay exactly that).`,
        });
      }
      return { modelId: parent.modelId, relation: parent.relation, shareBps };
    }),
  );
}
