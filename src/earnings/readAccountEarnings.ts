import type { Address, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { readLineageIncome, type LineageIncome } from "./readLineageIncome.ts";
import { readModelRoyalties, type ModelRoyalties } from "./readModelRoyalties.ts";
import { readPaymentsSent, type PaymentsSent } from "./readPaymentsSent.ts";
import { readProviderEarnings, type ProviderEarnings } from "./readProviderEarnings.ts";

/** Everything one account earned, can withdraw, withdrew, and paid, read from the chain. */
export type AccountEarnings = {
  address: Address;
  /** As a provider: its share of redeemed vouchers. */
  provider: ProviderEarnings;
  /** As a model owner: the royalties of every model it owns or owned. */
  royalties: ModelRoyalties[];
  /** As a channel sender (a gateway's key): what it paid, and where that went. */
  paid: PaymentsSent;
  /** As an ancestor (shares its models receive from derivatives) and as a data owner (its datasets' earnings). */
  lineage: LineageIncome;
  /** What it can withdraw now: provider earnings, the royalties of the models it owns and the earnings of its datasets. */
  withdrawable: bigint;
  /** What it already withdrew: provider earnings, royalties and dataset earnings. */
  withdrawn: bigint;
};

/**
 * Reads one account's earnings in every role at once: provider share, model royalties and what it
 * paid as a sender.
 *
 * @example const { withdrawable } = await readAccountEarnings(client, deployment, "0x…");
 */
export async function readAccountEarnings(client: PublicClient, deployment: Deployment, address: Address): Promise<AccountEarnings> {
  const [provider, royalties, paid, lineage] = await Promise.all([
    readProviderEarnings(client, deployment, address),
    readModelRoyalties(client, deployment, address),
    readPaymentsSent(client, deployment, address),
    readLineageIncome(client, deployment, address),
  ]);
  const owned = royalties.filter((m) => m.ownedNow);
  const datasets = lineage.datasets;
  return {
    address,
    provider,
    royalties,
    paid,
    lineage,
    withdrawable:
      provider.withdrawable +
      owned.reduce((sum, m) => sum + m.withdrawable, 0n) +
      datasets.filter((d) => d.ownedNow).reduce((sum, d) => sum + d.withdrawable, 0n) +
      lineage.pools.reduce((sum, p) => sum + p.claimable, 0n),
    withdrawn: provider.withdrawn + royalties.reduce((sum, m) => sum + m.withdrawnByYou, 0n) + datasets.reduce((sum, d) => sum + d.withdrawnByYou, 0n) + lineage.pools.reduce((sum, p) => sum + p.claimed, 0n),
  };
}
