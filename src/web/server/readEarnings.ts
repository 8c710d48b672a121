import type { PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { readRedemptions } from "./readExplorer.ts";

/** One point of an earnings series: cumulative earnings (base units, decimal string) at a time. */
export type EarningsPoint = { time: number; total: string };
/** Earnings of one creator's model or one provider over time. */
export type EarningsSeries = { key: string; label: string; points: EarningsPoint[] };

/**
 * Cumulative earnings over time from redeemed vouchers: each model's royalties (what its creator
 * earns) and each provider's share. Times are block timestamps, in unix seconds.
 *
 * @example const { creators, providers } = await readEarnings(client, deployment, names);
 */
export async function readEarnings(
  client: PublicClient,
  deployment: Deployment,
  modelNames: ReadonlyMap<string, string>,
): Promise<{ creators: EarningsSeries[]; providers: EarningsSeries[] }> {
  const redemptions = await readRedemptions(client, deployment);
  const times = new Map<bigint, number>();
  for (const block of new Set(redemptions.map((r) => r.blockNumber))) {
    times.set(block, Number((await client.getBlock({ blockNumber: block })).timestamp));
  }
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
    creators: build((r) => r.modelId.toString(), (r) => r.royalty, (id) => `${modelNames.get(id) ?? "model"} #${id}`),
    providers: build((r) => r.provider, (r) => r.providerShare, (address) => address),
  };
}
