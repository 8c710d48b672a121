import { GotongError } from "../common/errors.ts";
import { parseRelation, type ModelRelation } from "./modelRelation.ts";

/** A parent as the command line gives it: the share may be left to the parent's licence terms. */
export type ParentOption = { modelId: string; relation: ModelRelation; shareBps: number | undefined };
/** A dataset as the command line gives it. */
export type DatasetOption = { datasetId: string; shareBps: number };

const ID_AND_SHARE = /^([1-9]\d{0,77})(?::(\d{1,5}))?$/;

/**
 * Reads `--parent ID[:BPS]` (repeatable), `--relation R` (one for all parents, or one per parent in
 * the same order) and `--dataset ID:BPS` (repeatable). A parent without a share pays the minimum
 * its owner's licence terms ask (`minDerivativeShareBps`), filled in by the caller from the chain.
 * Throws `invalid_arguments` naming the option at fault.
 *
 * @example parseLineageOptions({ parent: ["7:3000"], relation: ["fine-tune"], dataset: ["2:500"] })
 */
export function parseLineageOptions(values: { parent?: string[]; relation?: string[]; dataset?: string[] }): { parents: ParentOption[]; datasets: DatasetOption[] } {
  const parentTexts = values.parent ?? [];
  const relationTexts = values.relation ?? [];
  const bad = (message: string, hint: string) => new GotongError(message, { code: "invalid_arguments", hint });
  if (parentTexts.length === 0 && relationTexts.length > 0) throw bad("--relation goes with --parent", "Name the model it derives from: --parent ID --relation quantisation.");
  if (parentTexts.length > 0 && relationTexts.length === 0) {
    throw bad("--parent needs --relation", "Say how the model was made from its parent: --relation fine-tune, merge, quantisation, distillation or adapter.");
  }
  if (relationTexts.length > 1 && relationTexts.length !== parentTexts.length) {
    throw bad(`${parentTexts.length} --parent but ${relationTexts.length} --relation`, "Give one --relation for all parents, or one per --parent, in the same order.");
  }
  const relations = relationTexts.map(parseRelation);
  const seen = new Set<string>();
  const parents = parentTexts.map((text, i): ParentOption => {
    const match = ID_AND_SHARE.exec(text.trim());
    if (!match) throw bad(`--parent "${text.slice(0, 40)}" is not ID or ID:BPS`, "For example --parent 7 (pays the parent's minimum share) or --parent 7:3000 (30% of this model's royalty).");
    const [, modelId, share] = match as unknown as [string, string, string | undefined];
    if (seen.has(modelId)) throw bad(`--parent ${modelId} is given twice`, "Name each parent once, with its whole share.");
    seen.add(modelId);
    return { modelId, relation: relations[relations.length === 1 ? 0 : i]!, shareBps: share === undefined ? undefined : checkBps(share, "--parent", bad) };
  });
  const datasetSeen = new Set<string>();
  const datasets = (values.dataset ?? []).map((text): DatasetOption => {
    const match = ID_AND_SHARE.exec(text.trim());
    if (!match || match[2] === undefined) throw bad(`--dataset "${text.slice(0, 40)}" is not ID:BPS`, "For example --dataset 3:1000 pays dataset #3's owners 10% of this model's royalty.");
    if (datasetSeen.has(match[1]!)) throw bad(`--dataset ${match[1]} is given twice`, "Name each dataset once, with its whole share.");
    datasetSeen.add(match[1]!);
    return { datasetId: match[1]!, shareBps: checkBps(match[2], "--dataset", bad) };
  });
  return { parents, datasets };
}

function checkBps(text: string, option: string, bad: (message: string, hint: string) => GotongError): number {
  const bps = Number(text);
  if (bps > 10_000) throw bad(`${option} share ${bps} is above 10000 bps`, "Shares are basis points of this model's royalty: 3000 is 30%.");
  return bps;
}
