import type { Address, Hex, PublicClient } from "viem";
import { ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { readProviderEarnings } from "../earnings/readProviderEarnings.ts";
import { chainTime } from "../funding/chainTime.ts";
import { readChannel } from "../payments/readChannel.ts";
import { readModelNames } from "../web/server/readModelNames.ts";
import type { ProviderStore } from "./createProviderStore.ts";
import { decodeCapabilities, type Capability } from "../protocol/capabilities.ts";

/** A provider's offer, with the model's registered name and what it serves. Prices in base units per million tokens. */
export type ProviderOffer = { modelId: bigint; modelName: string | undefined; pricePerMillionInput: bigint; pricePerMillionOutput: bigint; capabilities: Capability[] };

/** A voucher the provider holds and could still redeem (its channel epoch still pays). */
export type RedeemableVoucher = { channelId: Hex; epoch: bigint; amount: bigint; closesAt: bigint | undefined };

/** Everything about one provider identity, from the chain and its own store. Amounts in base units. */
export type ProviderStatus = {
  address: Address;
  registered: boolean;
  endpoint: string;
  /** Active stake (at least `minStake` to be active). */
  stake: bigint;
  minStake: bigint;
  /** Registered, staked at least the minimum: only then can channels be opened to it. */
  active: boolean;
  offers: ProviderOffer[];
  /** Stake on its way out, and when it can be withdrawn (`gotong provider exit`). */
  unbonding: { amount: bigint; readyAt: bigint; ready: boolean } | undefined;
  /** Seconds between `requestUnstake` and `withdrawStake`. */
  unstakeDelay: bigint;
  earnings: {
    /** Its share of every voucher redeemed on-chain, all time. */
    redeemed: bigint;
    /** Credited in PaymentChannels, not yet withdrawn: `gotong provider withdraw` pays it. */
    withdrawable: bigint;
    /** Already withdrawn. */
    withdrawn: bigint;
    /** Held in the local store as vouchers and not redeemed yet, where the chain still pays them (the whole amount, before royalty and fee). */
    redeemable: bigint;
    redeemableVouchers: RedeemableVoucher[];
  };
  /** The chain's time when read (unix seconds). */
  chainTime: bigint;
  /** What keeps this provider from being paid or reached, in words. */
  warnings: string[];
};

type ProviderRecord = { registered: boolean; stake: bigint; unstaking: bigint; unstakeReadyAt: bigint; endpoint: string };

/**
 * Reads a provider's stake, offers, endpoint, unbonding and earnings: from ProviderRegistry and
 * PaymentChannels, and, given its store, the vouchers it holds and has not redeemed (checked against
 * the chain: a voucher whose channel epoch was withdrawn or whose challenge period is over pays
 * nothing and is not counted). Warns when the provider gets no traffic (no stake, no offer).
 *
 * @param client A reader for the deployment's chain.
 * @param address The provider's account.
 * @param store Its local store, when this machine runs it.
 * @example const status = await readProviderStatus(reader, deployment, address, store);
 */
export async function readProviderStatus(client: PublicClient, deployment: Deployment, address: Address, store?: ProviderStore): Promise<ProviderStatus> {
  const registry = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  let record: ProviderRecord, offers: readonly { modelId: bigint; pricePerMillionInput: bigint; pricePerMillionOutput: bigint; capabilities: bigint }[], minStake: bigint, unstakeDelay: bigint, now: bigint;
  try {
    [record, offers, minStake, unstakeDelay, now] = await Promise.all([
      client.readContract({ ...registry, functionName: "getProvider", args: [address] }) as Promise<unknown> as Promise<ProviderRecord>,
      client.readContract({ ...registry, functionName: "getOffers", args: [address] }),
      client.readContract({ ...registry, functionName: "minStake" }),
      client.readContract({ ...registry, functionName: "unstakeDelay" }).then(BigInt),
      chainTime(client),
    ]);
  } catch (error) {
    throw toChainError(error, "reading the provider registry");
  }
  const earned = await readProviderEarnings(client, deployment, address);
  const names = await readNames(client, deployment, offers.map((o) => o.modelId));
  const redeemableVouchers = store ? await readRedeemable(client, deployment, store, now) : [];
  const unbonding = record.unstaking > 0n ? { amount: record.unstaking, readyAt: BigInt(record.unstakeReadyAt), ready: now >= BigInt(record.unstakeReadyAt) } : undefined;
  const active = record.registered && record.stake >= minStake;

  const warnings: string[] = [];
  if (!record.registered) warnings.push("not registered: `gotong provider start` registers it, with the minimum stake");
  else if (!active) warnings.push(`no stake (${record.stake} of the ${minStake} minimum): inactive, no new channel can be opened to it, so it gets no new traffic`);
  if (record.registered && offers.length === 0) warnings.push("no offer: no model is on offer, so it gets no new traffic (`gotong provider start` sets one)");
  if (unbonding) warnings.push(unbonding.ready ? "unbonding is over: `gotong provider exit` withdraws the stake" : "unbonding: the stake can be withdrawn with `gotong provider exit` once the delay is over");

  return {
    address,
    registered: record.registered,
    endpoint: record.endpoint,
    stake: record.stake,
    minStake,
    active,
    offers: offers.map((o) => ({ ...o, modelName: names.get(o.modelId), capabilities: decodeCapabilities(o.capabilities) })),
    unbonding,
    unstakeDelay,
    earnings: {
      redeemed: earned.earned,
      withdrawable: earned.withdrawable,
      withdrawn: earned.withdrawn,
      redeemable: redeemableVouchers.reduce((sum, v) => sum + v.amount, 0n),
      redeemableVouchers,
    },
    chainTime: now,
    warnings,
  };
}

/** The stored vouchers the chain would still pay more for. */
async function readRedeemable(client: PublicClient, deployment: Deployment, store: ProviderStore, now: bigint): Promise<RedeemableVoucher[]> {
  const out: RedeemableVoucher[] = [];
  for (const state of store.unredeemed()) {
    const onchain = await readChannel(client, deployment.paymentChannels, state.channelId);
    if (onchain.epoch !== state.epoch || onchain.deposit === 0n) continue; // withdrawn: can never pay
    if (onchain.closesAt !== 0n && now >= onchain.closesAt) continue; // challenge period over
    const payable = state.voucher!.cumulativeAmount < onchain.deposit ? state.voucher!.cumulativeAmount : onchain.deposit;
    if (payable > onchain.redeemed) out.push({ channelId: state.channelId, epoch: state.epoch, amount: payable - onchain.redeemed, closesAt: onchain.closesAt === 0n ? undefined : onchain.closesAt });
  }
  return out;
}

/** Model names are for display only: a registry that does not answer leaves them blank. */
function readNames(client: PublicClient, deployment: Deployment, ids: bigint[]): Promise<Map<bigint, string | undefined>> {
  return readModelNames(client, deployment, ids).catch(() => new Map<bigint, string | undefined>());
}
