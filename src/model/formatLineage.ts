import type { ModelLineage } from "./readModelLineage.ts";

/**
 * A model's lineage as an indented tree: each ancestor with its relation, the share of its
 * child's royalty it is paid, and what it earned from that child; each dataset likewise.
 *
 * @example process.stdout.write(formatLineage(tree, (a) => `${a} base units`));
 */
export function formatLineage(tree: ModelLineage, money: (amount: bigint) => string): string {
  const pending = (amount: bigint) => (amount > 0n ? ` (+ ${money(amount)} not flowed yet)` : "");
  const lines = [`model #${tree.modelId} "${tree.name}", royalty ${tree.royaltyBps} bps, owned by ${tree.owner}; kept ${money(tree.kept)} of its royalties${pending(tree.pending)}`];
  const walk = (node: ModelLineage, indent: string) => {
    for (const d of node.datasets) lines.push(`${indent}└ dataset #${d.datasetId} "${d.name}": ${d.shareBps} bps, earned ${money(d.earnedFromChild)}${pending(d.pendingFromChild)} from #${node.modelId}, owned by ${d.owner}`);
    for (const p of node.parents) {
      lines.push(`${indent}└ ${p.relation} of model #${p.node.modelId} "${p.node.name}": ${p.shareBps} bps, earned ${money(p.earnedFromChild)}${pending(p.pendingFromChild)} from #${node.modelId}, owned by ${p.node.owner}`);
      walk(p.node, `${indent}  `);
    }
  };
  walk(tree, "  ");
  if (tree.parents.length === 0 && tree.datasets.length === 0) lines.push("  no parents and no datasets: an original model");
  return lines.join("\n");
}

/** A {@link ModelLineage} as JSON (`gotong model lineage --json`, the web app's `/gotong/web/lineage`): amounts are decimal strings of base units, ids strings. */
export type ModelLineageJson = {
  modelId: string;
  name: string;
  owner: string;
  royaltyBps: number;
  depth: number;
  kept: string;
  pending: string;
  parents: { relation: string; shareBps: number; earnedFromChild: string; pendingFromChild: string; model: ModelLineageJson }[];
  datasets: { datasetId: string; name: string; owner: string; shareBps: number; earnedFromChild: string; pendingFromChild: string }[];
};

/** The lineage with every amount as a decimal string of base units and ids as strings. */
export function lineageToJson(tree: ModelLineage): ModelLineageJson {
  return {
    modelId: tree.modelId.toString(),
    name: tree.name,
    owner: tree.owner,
    royaltyBps: tree.royaltyBps,
    depth: tree.depth,
    kept: tree.kept.toString(),
    pending: tree.pending.toString(),
    parents: tree.parents.map((p) => ({ relation: p.relation, shareBps: p.shareBps, earnedFromChild: p.earnedFromChild.toString(), pendingFromChild: p.pendingFromChild.toString(), model: lineageToJson(p.node) })),
    datasets: tree.datasets.map((d) => ({ datasetId: d.datasetId.toString(), name: d.name, owner: d.owner, shareBps: d.shareBps, earnedFromChild: d.earnedFromChild.toString(), pendingFromChild: d.pendingFromChild.toString() })),
  };
}
