import type { Address, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
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
  /** What it can withdraw now: provider earnings plus the royalties of the models it owns. */
  withdrawable: bigint;
  /** What it already withdrew: provider earnings plus royalties. */
  withdrawn: bigint;
};

/**
 * Reads one account's earnings in every role at once: provider share, model royalties and what it
 * paid as a sender.
 *
 * @example const { withdrawable } = await readAccountEarnings(client, deployment, "0x…");
 */
export async function readAccountEarnings(client: PublicClient, deployment: Deployment, address: Address): Promise<AccountEarnings> {
  const [provider, royalties, paid] = await Promise.all([
    readProviderEarnings(client, deployment, address),
    readModelRoyalties(client, deployment, address),
    readPaymentsSent(client, deployment, address),
  ]);
  const owned = royalties.filter((m) => m.ownedNow);
  return {
    address,
    provider,
    royalties,
    paid,
    withdrawable: provider.withdrawable + owned.reduce((sum, m) => sum + m.withdrawable, 0n),
    withdrawn: provider.withdrawn + royalties.reduce((sum, m) => sum + m.withdrawnByYou, 0n),
  };
}
