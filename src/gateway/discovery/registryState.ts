import type { Address, Hex } from "viem";
import { decodeCapabilities } from "../../protocol/capabilities.ts";
import type { Offer } from "../discoverOffers.ts";

/** One provider as the ProviderRegistry's events describe it, with its offers by model id. */
export type ProviderState = {
  endpoint: string;
  hpkePublicKey: Hex;
  stake: bigint;
  paused: boolean;
  offers: Map<bigint, OfferTerms>;
};

/** A provider's prices and capability bitmask for one model (`OfferSet`). */
export type OfferTerms = { pricePerMillionInput: bigint; pricePerMillionOutput: bigint; capabilities: bigint };

/** A model as the ModelRegistry's events describe it: what an offer needs of it. */
export type ModelState = { name: string; weightsHash: Hex; royaltyBps: number };

/**
 * What discovery knows of the registries: every provider (by checksummed address, as the event
 * source gives it) and model their events have named.
 */
export type RegistryState = { providers: Map<Address, ProviderState>; models: Map<bigint, ModelState> };

/**
 * One decoded registry event that changes what is on offer, in chain order. Events that change
 * nothing discovery shows (`StakeWithdrawn`, `MetadataURIChanged`, ERC-721 transfers) are not read.
 */
export type RegistryEvent = { blockNumber: bigint; logIndex: number } & (
  | { name: "ProviderRegistered"; provider: Address; endpoint: string; hpkePublicKey: Hex; stake: bigint }
  | { name: "StakeAdded"; provider: Address; stake: bigint }
  | { name: "UnstakeRequested"; provider: Address; amount: bigint }
  | { name: "EndpointChanged"; provider: Address; endpoint: string }
  | { name: "HpkeKeyChanged"; provider: Address; hpkePublicKey: Hex }
  | { name: "OfferSet"; provider: Address; modelId: bigint; pricePerMillionInput: bigint; pricePerMillionOutput: bigint; capabilities: bigint }
  | { name: "OfferRemoved"; provider: Address; modelId: bigint }
  | { name: "ProviderPaused"; provider: Address; paused: boolean }
  | { name: "ModelRegistered"; modelId: bigint; name_: string; weightsHash: Hex; royaltyBps: number }
  | { name: "RoyaltyChanged"; modelId: bigint; royaltyBps: number }
);

/** A state with nothing in it: what a scan from the deployment block starts from. */
export function emptyRegistryState(): RegistryState {
  return { providers: new Map(), models: new Map() };
}

/** What {@link applyRegistryEvent} changed, so only that is written to the store. */
export type StateChange = { provider: Address } | { modelId: bigint } | undefined;

/**
 * Applies one event to `state`, in place, and says which provider or model it changed. The
 * stake is followed from the events (registered, added, moved to unstaking), as the contract
 * computes it; an event about a provider or model this state never saw registered is ignored
 * (it cannot happen from the deployment block on; from a later start block, such providers are
 * simply not known).
 */
export function applyRegistryEvent(state: RegistryState, event: RegistryEvent): StateChange {
  if (event.name === "ModelRegistered") {
    state.models.set(event.modelId, { name: event.name_, weightsHash: event.weightsHash, royaltyBps: event.royaltyBps });
    return { modelId: event.modelId };
  }
  if (event.name === "RoyaltyChanged") {
    const model = state.models.get(event.modelId);
    if (!model) return undefined;
    model.royaltyBps = event.royaltyBps;
    return { modelId: event.modelId };
  }
  const key = event.provider;
  if (event.name === "ProviderRegistered") {
    state.providers.set(key, { endpoint: event.endpoint, hpkePublicKey: event.hpkePublicKey, stake: event.stake, paused: false, offers: new Map() });
    return { provider: key };
  }
  const provider = state.providers.get(key);
  if (!provider) return undefined;
  switch (event.name) {
    case "StakeAdded":
      provider.stake = event.stake; // the event carries the total
      break;
    case "UnstakeRequested":
      provider.stake -= event.amount;
      break;
    case "EndpointChanged":
      provider.endpoint = event.endpoint;
      break;
    case "HpkeKeyChanged":
      provider.hpkePublicKey = event.hpkePublicKey;
      break;
    case "OfferSet":
      provider.offers.set(event.modelId, { pricePerMillionInput: event.pricePerMillionInput, pricePerMillionOutput: event.pricePerMillionOutput, capabilities: event.capabilities });
      break;
    case "OfferRemoved":
      provider.offers.delete(event.modelId);
      break;
    case "ProviderPaused":
      provider.paused = event.paused;
      break;
  }
  return { provider: key };
}

/**
 * The offers a channel can be opened for now: those of providers staked at least `minStake` and
 * not paused, for models the state knows (as the contract's `hasOffer` decides).
 */
export function offersOf(state: RegistryState, minStake: bigint): Offer[] {
  const offers: Offer[] = [];
  for (const [key, p] of state.providers) {
    if (p.paused || p.stake < minStake) continue;
    for (const [modelId, terms] of p.offers) {
      const model = state.models.get(modelId);
      if (!model) continue;
      offers.push({
        provider: key,
        endpoint: p.endpoint,
        hpkePublicKey: p.hpkePublicKey,
        stake: p.stake,
        modelId,
        modelName: model.name,
        weightsHash: model.weightsHash,
        royaltyBps: model.royaltyBps,
        price: { pricePerMillionInput: terms.pricePerMillionInput, pricePerMillionOutput: terms.pricePerMillionOutput },
        capabilities: decodeCapabilities(terms.capabilities),
      });
    }
  }
  return offers;
}
