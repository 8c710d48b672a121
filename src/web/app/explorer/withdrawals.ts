import { getJson } from "../lib/api.ts";

/** What one withdrawal would pay now, as `/gotong/web/withdrawable` reads it from the chain. */
export type Withdrawable =
  | { kind: "royalties"; modelId: string; name: string; owner: string; amount: string }
  | { kind: "earnings"; account: string; held: boolean; amount: string }
  | { kind: "channel"; channelId: string; sender: string; deposit: string; redeemed: string; closesAt: number; withdrawable: boolean; amount: string };

/** Reads what withdrawing a model's royalties, an account's earnings or a closed channel would pay now. */
export function readWithdrawable(what: { model: string } | { earnings: string } | { channel: string }): Promise<Withdrawable> {
  const [key, value] = Object.entries(what)[0]!;
  return getJson<Withdrawable>(`/gotong/web/withdrawable?${key}=${encodeURIComponent(value)}`);
}

/** The token amount a mined transaction moved from `from` to `to`, from the token's own Transfer events. */
export async function amountTransferred(hash: string, from: string, to: string): Promise<bigint> {
  const tx = await getJson<{ transfers: { from: string; to: string; amount: string }[] }>(`/gotong/web/tx/${hash}`);
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  return tx.transfers.filter((t) => same(t.from, from) && same(t.to, to)).reduce((sum, t) => sum + BigInt(t.amount), 0n);
}

/** " The confirmation said …: …" when what moved differs from what was confirmed, else "". */
export function differenceNote(moved: bigint, confirmed: bigint, formatted: (v: bigint) => string): string {
  return moved === confirmed ? "" : ` The confirmation said ${formatted(confirmed)}: the amount changed on-chain in between (a provider redeemed, or it was withdrawn elsewhere).`;
}
