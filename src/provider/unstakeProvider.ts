import type { Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { formatChainTime } from "../common/parseDuration.ts";

/** What `unstakeProvider` did. Amounts in token base units. */
export type Unstake = {
  /** The offers removed (model ids), each in its own transaction. */
  removedOffers: bigint[];
  /** The stake moved to unbonding. */
  amount: bigint;
  /** All that is unbonding now (an earlier request's amount too). */
  unstaking: bigint;
  /** When `gotong provider exit` can withdraw it (unix seconds, chain time). */
  readyAt: bigint;
  unstakeDelay: bigint;
  hashes: Hex[];
};

type ProviderRecord = { registered: boolean; stake: bigint; unstaking: bigint; unstakeReadyAt: bigint };

/**
 * Leaves the network: removes every offer (no new channel can be opened to the provider), then
 * moves the whole stake to unbonding, which `exitProvider` withdraws after the registry's delay.
 * Channels already open stay redeemable: keep redeeming (`gotong provider redeem`) until they close.
 *
 * @param clients Clients acting as the provider.
 * @throws GotongError `not_registered`, or `nothing_staked` (saying when an earlier unbonding ends).
 * @example const { readyAt } = await unstakeProvider(clients, deployment);
 */
export async function unstakeProvider(clients: ChainClients, deployment: Deployment): Promise<Unstake> {
  const registry = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  const me = clients.account.address;
  const record = (await clients.public.readContract({ ...registry, functionName: "getProvider", args: [me] })) as unknown as ProviderRecord;
  if (!record.registered) {
    throw new GotongError(`${me} is not a registered provider`, { code: "not_registered", hint: "Pass the provider's --name or --key; `gotong provider status` shows what a key is." });
  }
  const offers = await clients.public.readContract({ ...registry, functionName: "getOffers", args: [me] });
  if (record.stake === 0n && offers.length === 0) {
    throw new GotongError(
      record.unstaking > 0n
        ? `Nothing is staked: ${record.unstaking} base units are already unbonding until ${formatChainTime(BigInt(record.unstakeReadyAt))} (chain time)`
        : "Nothing is staked and no offer is left",
      { code: "nothing_staked", hint: record.unstaking > 0n ? "Run `gotong provider exit` after that time." : "This provider has already left." },
    );
  }
  const hashes: Hex[] = [];
  const removedOffers: bigint[] = [];
  for (const offer of offers) {
    hashes.push((await writeAndWait(clients, { ...registry, functionName: "removeOffer", args: [offer.modelId] })).hash);
    removedOffers.push(offer.modelId);
  }
  const unstakeDelay = BigInt(await clients.public.readContract({ ...registry, functionName: "unstakeDelay" }));
  if (record.stake > 0n) hashes.push((await writeAndWait(clients, { ...registry, functionName: "requestUnstake", args: [record.stake] })).hash);
  const after = (await clients.public.readContract({ ...registry, functionName: "getProvider", args: [me] })) as unknown as ProviderRecord;
  return { removedOffers, amount: record.stake, unstaking: after.unstaking, readyAt: BigInt(after.unstakeReadyAt), unstakeDelay, hashes };
}

