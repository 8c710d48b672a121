import type { Address } from "viem";
import { GotongError } from "../common/errors.ts";
import type { Offer } from "./discoverOffers.ts";

export type RouterOptions = {
  /** Reads the current offers (from the chain). */
  loadOffers(): Promise<Offer[]>;
  /** How long offers read from the chain are reused. Default 5 s. */
  refreshMs?: number;
  /** How long a provider that failed is skipped. Default 15 s. */
  cooldownMs?: number;
  now?: () => number;
};

/**
 * Chooses providers for a model: cheapest first, then fastest, skipping providers that just failed
 * (for a cool-down) and providers caught sending a bad receipt (for good).
 */
export function createRouter(options: RouterOptions) {
  const now = options.now ?? Date.now;
  let offers: Offer[] = [];
  let loadedAt = -Infinity;
  let loading: Promise<Offer[]> | undefined;
  const downUntil = new Map<Address, number>();
  const latency = new Map<Address, number>();
  const untrusted = new Set<Address>();

  const current = async (): Promise<Offer[]> => {
    if (now() - loadedAt < (options.refreshMs ?? 5_000)) return offers;
    loading ??= options.loadOffers().then(
      (o) => {
        offers = o;
        loadedAt = now();
        loading = undefined;
        return o;
      },
      (e) => {
        loading = undefined;
        throw e;
      },
    );
    return loading;
  };

  /** Model names a client can ask for: the registry name, or `name@id` when two models share a name. */
  const namesOf = (all: Offer[]) => {
    const ids = new Map<string, Set<bigint>>();
    for (const o of all) ids.set(o.modelName, (ids.get(o.modelName) ?? new Set()).add(o.modelId));
    return (o: Offer) => ((ids.get(o.modelName)?.size ?? 0) > 1 ? `${o.modelName}@${o.modelId}` : o.modelName);
  };

  return {
    /** Every model on offer, with the number of providers and the lowest prices. */
    async listModels() {
      const all = await current();
      const nameOf = namesOf(all);
      const byName = new Map<string, Offer[]>();
      for (const o of all) byName.set(nameOf(o), [...(byName.get(nameOf(o)) ?? []), o]);
      return [...byName].map(([name, list]) => ({ name, offers: list }));
    },
    /** Offers for `model`, in the order to try them. */
    async route(model: string): Promise<Offer[]> {
      const all = await current();
      const at = model.lastIndexOf("@");
      const wantedId = at > 0 && /^\d+$/.test(model.slice(at + 1)) ? BigInt(model.slice(at + 1)) : undefined;
      const name = wantedId !== undefined ? model.slice(0, at) : model;
      const matching = all.filter((o) => o.modelName === name && (wantedId === undefined || o.modelId === wantedId));
      if (matching.length === 0) {
        const names = [...new Set(all.map(namesOf(all)))];
        throw new GotongError(`No provider offers the model "${model}"`, {
          code: "model_not_found",
          status: 404,
          param: "model",
          hint: names.length ? `Models on offer: ${names.join(", ")}.` : "No models are on offer on this network yet.",
        });
      }
      if (wantedId === undefined && new Set(matching.map((o) => o.modelId)).size > 1) {
        throw new GotongError(`Several models are named "${model}"`, {
          code: "model_ambiguous",
          status: 400,
          param: "model",
          hint: `Name one: ${[...new Set(matching.map((o) => `${o.modelName}@${o.modelId}`))].join(", ")}.`,
        });
      }
      const usable = matching.filter((o) => !untrusted.has(o.provider));
      const price = (o: Offer) => o.price.pricePerMillionInput + o.price.pricePerMillionOutput;
      const time = now();
      const sorted = usable.sort((a, b) => {
        const downA = (downUntil.get(a.provider) ?? 0) > time ? 1 : 0;
        const downB = (downUntil.get(b.provider) ?? 0) > time ? 1 : 0;
        if (downA !== downB) return downA - downB; // providers in cool-down are tried last, not never
        const p = price(a) - price(b);
        if (p !== 0n) return p < 0n ? -1 : 1;
        return (latency.get(a.provider) ?? 0) - (latency.get(b.provider) ?? 0);
      });
      if (sorted.length === 0) {
        throw new GotongError(`Every provider of "${model}" has been excluded for bad receipts`, { code: "no_provider", status: 503 });
      }
      return sorted;
    },
    /** Records a provider's response time (exponentially weighted). */
    observe(provider: Address, ms: number) {
      const old = latency.get(provider);
      latency.set(provider, old === undefined ? ms : old * 0.8 + ms * 0.2);
      downUntil.delete(provider);
    },
    markDown(provider: Address) {
      downUntil.set(provider, now() + (options.cooldownMs ?? 15_000));
    },
    markUntrusted(provider: Address) {
      untrusted.add(provider);
    },
    isUntrusted: (provider: Address) => untrusted.has(provider),
  };
}

export type Router = ReturnType<typeof createRouter>;
