import { describe, expect, it } from "vitest";
import { formatLineage, lineageToJson } from "./formatLineage.ts";
import type { ModelLineage } from "./readModelLineage.ts";

const A = "0x00000000000000000000000000000000000000aa" as const;
const B = "0x00000000000000000000000000000000000000bb" as const;
const P = "0x00000000000000000000000000000000000000cc" as const;
const base: ModelLineage = { modelId: 1n, name: "base", owner: A, royaltyBps: 1000, depth: 0, kept: 30n, pending: 0n, parents: [], datasets: [] };
const fineTune: ModelLineage = {
  modelId: 3n,
  name: "ft",
  owner: B,
  royaltyBps: 1000,
  depth: 1,
  kept: 60n,
  pending: 7n,
  parents: [{ relation: "fine-tune", shareBps: 3000, earnedFromChild: 30n, pendingFromChild: 2n, node: base }],
  datasets: [{ datasetId: 2n, name: "corpus", owner: P, shareBps: 1000, earnedFromChild: 10n, pendingFromChild: 0n }],
};
const money = (amount: bigint) => `${amount}u`;

describe("formatLineage", () => {
  it("draws the tree with each ancestor's and dataset's share and what it earned from its child", () => {
    expect(formatLineage(fineTune, money).split("\n")).toEqual([
      `model #3 "ft", royalty 1000 bps, owned by ${B}; kept 60u of its royalties (+ 7u not flowed yet)`,
      `  └ dataset #2 "corpus": 1000 bps, earned 10u from #3, owned by ${P}`,
      `  └ fine-tune of model #1 "base": 3000 bps, earned 30u (+ 2u not flowed yet) from #3, owned by ${A}`,
    ]);
    expect(formatLineage(base, money)).toContain("no parents and no datasets: an original model");
  });

  it("writes amounts as decimal strings of base units in JSON", () => {
    expect(lineageToJson(fineTune)).toMatchObject({
      modelId: "3",
      kept: "60",
      pending: "7",
      parents: [{ relation: "fine-tune", shareBps: 3000, earnedFromChild: "30", pendingFromChild: "2", model: { modelId: "1", depth: 0, parents: [] } }],
      datasets: [{ datasetId: "2", earnedFromChild: "10" }],
    });
  });
});
