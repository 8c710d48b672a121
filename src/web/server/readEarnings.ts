import type { PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { readRedemptions } from "./readExplorer.ts";
import { readModelNames } from "./readModelNames.ts";

/** One point of an earnings series: cumulative earnings (base units, decimal string) at a time. */
export type EarningsPoint = { time: number; total: string };
/** Earnings of one creator's model or one provider over time. */
export type EarningsSeries = { key: string; label: string; points: EarningsPoint[] };

/**
 * Cumulative earnings over time from redeemed vouchers: each model's royalties (what its creator
 * earns) and each provider's share. Times are block timestamps, in unix seconds.
 *
 * @example const { creators, providers } = await readEarnings(client, deployment);
 */
export async function readEarnings(client: PublicClient, deployment: Deployment): Promise<{ creators: EarningsSeries[]; providers: EarningsSeries[] }> {
  const redemptions = await readRedemptions(client, deployment);
  const blocks = [...new Set(redemptions.map((r) => r.blockNumber))];
  const [modelNames, timestamps] = await Promise.all([
    readModelNames(client, deployment, redemptions.map((r) => r.modelId)),
    Promise.all(blocks.map((blockNumber) => client.getBlock({ blockNumber }).then((b) => Number(b.timestamp)))),
  ]);
  const times = new Map(blocks.map((block, i) => [block, timestamps[i]!]));
  const build = (keyOf: (r: (typeof redemptions)[number]) => string, amountOf: (r: (typeof redemptions)[number]) => bigint, labelOf: (key: string) => string) => {
    const series = new Map<string, { total: bigint; points: EarningsPoint[] }>();
    for (const r of redemptions) {
      const amount = amountOf(r);
      if (amount === 0n) continue;
      const key = keyOf(r);
      const s = series.get(key) ?? { total: 0n, points: [] };
      s.total += amount;
      s.points.push({ time: times.get(r.blockNumber)!, total: s.total.toString() });
      series.set(key, s);
    }
    return [...series].map(([key, s]) => ({ key, label: labelOf(key), points: s.points }));
  };
  return {
    creators: build((r) => r.modelId.toString(), (r) => r.royalty, (id) => `${modelNames.get(BigInt(id)) ?? "model"} #${id}`),
    providers: build((r) => r.provider, (r) => r.providerShare, (address) => address),
  };
}
