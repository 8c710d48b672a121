import type { Abi, Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { ModelRegistryArtifact, PaymentChannelsArtifact } from "../../chain/contracts.generated.ts";

/**
 * Whether the payment contract keeps a provider's share for it to withdraw (`withdrawEarnings`), as
 * Gotong's does, rather than paying it out at redeem, when there is never anything to withdraw.
 */
export const PROVIDER_EARNINGS_HELD = (PaymentChannelsArtifact.abi as Abi).some((item) => item.type === "function" && item.name === "withdrawEarnings");

/** What one withdrawal would pay now, read from the chain (amounts are decimal strings of base units). */
export type Withdrawable =
  | { kind: "royalties"; modelId: string; name: string; owner: Address; amount: string }
  | { kind: "earnings"; account: Address; held: boolean; amount: string }
  | { kind: "channel"; channelId: Hex; sender: Address; deposit: string; redeemed: string; closesAt: number; withdrawable: boolean; amount: string };

/**
 * Reads, just before a withdrawal is confirmed, exactly what it would pay: a model's accrued
 * royalties (and who may take them: its token's owner now), an account's earnings, or what a
 * closed channel returns (deposit − redeemed, which no redeem can change once its challenge period
 * is over).
 *
 * @example const { amount } = await readWithdrawable(client, deployment, { kind: "royalties", modelId: 1n });
 */
export async function readWithdrawable(
  client: PublicClient,
  deployment: Deployment,
  what: { kind: "royalties"; modelId: bigint } | { kind: "earnings"; account: Address } | { kind: "channel"; channelId: Hex },
): Promise<Withdrawable> {
  const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  if (what.kind === "royalties") {
    const [model, owner, amount] = await Promise.all([
      client.readContract({ ...registry, functionName: "getModel", args: [what.modelId] }),
      client.readContract({ ...registry, functionName: "ownerOf", args: [what.modelId] }),
      client.readContract({ ...pc, functionName: "modelEarnings", args: [what.modelId] }),
    ]);
    return { kind: "royalties", modelId: what.modelId.toString(), name: model.name, owner, amount: amount.toString() };
  }
  if (what.kind === "earnings") {
    const amount = PROVIDER_EARNINGS_HELD ? await client.readContract({ ...pc, functionName: "earnings", args: [what.account] }) : 0n;
    return { kind: "earnings", account: what.account, held: PROVIDER_EARNINGS_HELD, amount: amount.toString() };
  }
  const [c, now] = await Promise.all([
    client.readContract({ ...pc, functionName: "getChannel", args: [what.channelId] }),
    client.getBlock({ blockTag: "latest" }).then((b) => b.timestamp),
  ]);
  const withdrawable = c.deposit !== 0n && c.closesAt !== 0n && now >= c.closesAt;
  return {
    kind: "channel",
    channelId: what.channelId,
    sender: c.sender,
    deposit: c.deposit.toString(),
    redeemed: c.redeemed.toString(),
    closesAt: Number(c.closesAt),
    withdrawable,
    amount: (c.deposit - c.redeemed).toString(),
  };
}
