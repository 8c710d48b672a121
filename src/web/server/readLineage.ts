import type { PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { chainUnreachableError } from "../../chain/errors.ts";
import { isGotongError } from "../../common/errors.ts";
import { lineageToJson, type ModelLineageJson } from "../../model/formatLineage.ts";
import { LINEAGE_LIMITS } from "../../model/lineageLimits.ts";
import { readModelDerivatives } from "../../model/readModelDerivatives.ts";
import { readModelLineage } from "../../model/readModelLineage.ts";

/** A derivative of the model as the explorer shows it. Amounts are decimal strings of token base units. */
export type LineageDerivativeJson = {
  modelId: string;
  name: string;
  owner: string;
  relation: string;
  shareBps: number;
  /** Flowed from the derivative to this model so far (`ParentShareFlowed`). */
  paidToParent: string;
  /** This model's share of the derivative's royalties that have not flowed yet. */
  pendingToParent: string;
};

/** What `/gotong/web/lineage?model=ID` answers. */
export type WebLineage = {
  /**
   * The model, its parents (each with the parent's own lineage, up to the base models) and its
   * datasets, with what each ancestor and dataset earned from its child: `gotong model lineage --json`.
   */
  lineage: ModelLineageJson;
  /** The models registered naming this one as a parent, oldest first. */
  derivatives: LineageDerivativeJson[];
  /** The deepest lineage the registry accepts (`ModelRegistry.MAX_DEPTH`). */
  maxDepth: number;
};

/**
 * Reads a model's lineage for the explorer: the tree `gotong model lineage` prints (the same read,
 * `readModelLineage`, and the same JSON) and the model's derivatives. Throws `model_not_found` (404)
 * for an id never issued, a chain error when the RPC fails.
 *
 * @example const { lineage, derivatives } = await readLineage(client, deployment, 2n);
 */
export async function readLineage(client: PublicClient, deployment: Deployment, modelId: bigint): Promise<WebLineage> {
  let read: [Awaited<ReturnType<typeof readModelLineage>>, Awaited<ReturnType<typeof readModelDerivatives>>];
  try {
    read = await Promise.all([readModelLineage(client, deployment, modelId), readModelDerivatives(client, deployment, modelId)]);
  } catch (error) {
    // Said as what the page asked for, not as whichever contract call failed first.
    if (isGotongError(error, "chain_unreachable")) throw chainUnreachableError(`reading the lineage of model #${modelId}`, error);
    throw error;
  }
  const [tree, derivatives] = read;
  return {
    lineage: lineageToJson(tree),
    derivatives: derivatives.map((d) => ({
      modelId: d.modelId.toString(),
      name: d.name,
      owner: d.owner,
      relation: d.relation,
      shareBps: d.shareBps,
      paidToParent: d.paidToParent.toString(),
      pendingToParent: d.pendingToParent.toString(),
    })),
    maxDepth: LINEAGE_LIMITS.maxDepth,
  };
}
