import type { Address } from "viem";
import { GotongError } from "../common/errors.ts";
import type { Capability } from "../protocol/capabilities.ts";
import type { ProviderRecord } from "./challenges/providerRecord.ts";
import { reputationWeightBps } from "./challenges/reputationWeight.ts";
import type { Offer } from "./discoverOffers.ts";
import { matchesQuantization } from "./quantizationLevel.ts";
import type { RoutingPreferences } from "./routingPreferences.ts";

export type RouterOptions = {
  /** Reads the current offers (from the chain). */
  loadOffers(): Promise<Offer[]>;
  /**
   * The GGUF tensor type most of an offer's weights have (`Q4_K`, `F16`…), as its provider states
   * it; undefined when it does not. Asked only for requests that filter by `quantizations`.
   */
  weightTypeOf?: (offer: Offer) => Promise<string | undefined>;
  /**
   * What an offer's provider says of its readiness (its `GET /health`, see createProviderHealth):
   * one that says it is not ready is skipped; undefined (it does not say) leaves it to be tried.
   */
  healthOf?: (offer: Offer) => Promise<{ ready: boolean; failing: string[] } | undefined>;
  /**
   * What is known of an offer's provider now, without asking it (see createProviderHealth's
   * `statusOf`): a `dead` one (silent for the bound) is not routed to, nor (with `healthOf`) an
   * `unanswered` one (asked, never answered); none of these nor a `not_ready` one counts as live
   * for the models listed. Default: every provider `unknown`.
   */
  statusOf?: (offer: Offer) => "ready" | "not_ready" | "unknown" | "unanswered" | "dead";
  /**
   * A provider's verification record on-chain, as last read (see createRecordWatcher): a suspended
   * one is never routed to; failed challenges weigh heavily against it and passed ones mildly for
   * it (reputationWeightBps). Undefined (not read yet, or no ServingVerification) is neutral.
   */
  recordOf?: (provider: Address) => ProviderRecord | undefined;
  /** How long offers read from the chain are reused. Default 5 s. */
  refreshMs?: number;
  /**
   * How old the offers in hand may be and still answer a request while they are read again: past
   * `refreshMs` a re-read starts, but only past `staleMs` do requests wait for it. Default six times
   * `refreshMs` (30 s; 0 with `refreshMs` 0, which reads the chain for every request).
   */
  staleMs?: number;
  /** How long a provider that failed is skipped. Default 15 s. */
  cooldownMs?: number;
  now?: () => number;
};

/** What one request asks of the route: capabilities every provider must declare, and the client's preferences. */
export type RouteOptions = {
  /** Capabilities the request uses: only offers declaring all of them serve it, never one that would drop one. */
  needs?: readonly Capability[];
  preferences?: RoutingPreferences;
};

/** The request parameter a capability stands for, for errors. */
const PARAM_OF: Record<Capability, string> = { chat: "model", embeddings: "model", tools: "tools", structured_outputs: "response_format" };

const sameAddress = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase();

/**
 * Chooses providers for a model. Only offers that declare every capability a request needs are
 * used. By default the cheapest come first, then the fastest; preferences (OpenRouter's `provider`
 * object) narrow the set (`only`, `ignore`, `max_price`, `quantizations`) and order it (`sort`,
 * `order`, `allow_fallbacks`). Providers that just failed are tried last (for a cool-down), and
 * providers caught sending a bad receipt never, nor those suspended for fraud on-chain; the default
 * order weighs each price by the provider's verification record (see reputationWeightBps).
 */
export function createRouter(options: RouterOptions) {
  const now = options.now ?? Date.now;
  let offers: Offer[] = [];
  let loadedAt = -Infinity;
  let loading: Promise<Offer[]> | undefined;
  /** One offer per provider (its endpoint is the provider's), for `isLive`. */
  let byProvider = new Map<Address, Offer>();
  const downUntil = new Map<Address, number>();
  const latency = new Map<Address, number>();
  const throughput = new Map<Address, number>();
  const untrusted = new Set<Address>();

  const refreshMs = options.refreshMs ?? 5_000;
  const staleMs = options.staleMs ?? refreshMs * 6;
  /** One read of the offers at a time, shared by everyone who asks while it runs. */
  const reload = (): Promise<Offer[]> =>
    (loading ??= options.loadOffers().then(
      (o) => {
        if (o !== offers) byProvider = new Map(o.map((x) => [x.provider, x]));
        offers = o;
        loadedAt = now();
        loading = undefined;
        return o;
      },
      (e) => {
        loading = undefined;
        throw e;
      },
    ));
  const current = async (): Promise<Offer[]> => {
    const age = now() - loadedAt;
    if (age < refreshMs) return offers;
    const read = reload();
    // Recent offers answer at once while the chain is read behind them: a burst of requests never
    // queues behind one RPC round trip (refusals included). A failed re-read is retried by the next
    // request; only offers older than staleMs make requests wait for the chain (and see its error).
    if (age < staleMs) {
      read.catch(() => {});
      return offers;
    }
    return read;
  };

  /** Model names a client can ask for: the registry name, or `name@id` when two models share a name. */
  const namesOf = (all: Offer[]) => {
    const ids = new Map<string, Set<bigint>>();
    for (const o of all) ids.set(o.modelName, (ids.get(o.modelName) ?? new Set()).add(o.modelId));
    return (o: Offer) => ((ids.get(o.modelName)?.size ?? 0) > 1 ? `${o.modelName}@${o.modelId}` : o.modelName);
  };

  const isDown = (provider: Address, time = now()) => (downUntil.get(provider) ?? 0) > time;
  /** Whether the health probes say the provider serves: not silent past the bound, not saying it is not ready. */
  const isServing = (provider: Address) => {
    const o = byProvider.get(provider);
    const status = o && options.statusOf ? options.statusOf(o) : "unknown";
    return status !== "dead" && status !== "not_ready" && status !== "unanswered";
  };
  const isSuspended = (provider: Address) => options.recordOf?.(provider)?.suspended === true;
  const isLive = (provider: Address) => !untrusted.has(provider) && !isSuspended(provider) && !isDown(provider) && isServing(provider);
  const priceOf = (o: Offer) => o.price.pricePerMillionInput + o.price.pricePerMillionOutput;
  const compareBig = (x: bigint, y: bigint) => (x === y ? 0 : x < y ? -1 : 1);
  const byPrice = (a: Offer, b: Offer) => compareBig(priceOf(a), priceOf(b));
  /**
   * Price weighed by the on-chain record, then the weight alone (so a record still counts among free
   * offers). Each offer's weight is worked out once per ranking, not in every comparison of the sort.
   */
  const byWeighedPrice = (list: Offer[]) => {
    const weight = new Map(list.map((o) => [o, reputationWeightBps(options.recordOf?.(o.provider))]));
    return (a: Offer, b: Offer) => compareBig(priceOf(a) * weight.get(a)!, priceOf(b) * weight.get(b)!) || compareBig(weight.get(a)!, weight.get(b)!);
  };
  /** Fewer failed challenges first: what a client's own `sort` by latency or throughput still heeds. */
  const byFailures = (a: Offer, b: Offer) => compareBig(options.recordOf?.(a.provider)?.challengesFailed ?? 0n, options.recordOf?.(b.provider)?.challengesFailed ?? 0n);
  /** Measured values first (ascending, or descending with `high`), unmeasured after them. */
  const byMeasure = (values: Map<Address, number>, high: boolean) => (a: Offer, b: Offer) => {
    const x = values.get(a.provider);
    const y = values.get(b.provider);
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
    return high ? y - x : x - y;
  };

  /** The order to try `list` in: providers in cool-down last, then by `sort` (default price, then latency). */
  const rank = (list: Offer[], sort: RoutingPreferences["sort"]) => {
    const time = now();
    const compare =
      sort === "latency"
        ? [byFailures, byMeasure(latency, false), byPrice]
        : sort === "throughput"
          ? [byFailures, byMeasure(throughput, true), byPrice]
          : // The default: cheapest once weighed by the on-chain record first, then fastest (an
            // unmeasured provider counts as fast, so it gets measured).
            [byWeighedPrice(list), (a: Offer, b: Offer) => (latency.get(a.provider) ?? 0) - (latency.get(b.provider) ?? 0)];
    return [...list].sort((a, b) => {
      const down = Number(isDown(a.provider, time)) - Number(isDown(b.provider, time));
      if (down !== 0) return down; // providers in cool-down are tried last, not never
      for (const c of compare) {
        const r = c(a, b);
        if (r !== 0) return r;
      }
      return 0;
    });
  };

  const describe = (list: Offer[], what: (o: Offer) => string) => list.map((o) => `${o.provider} (${what(o)})`).join(", ");

  /** Refuses a request whose preferences leave no provider, naming the field and what there is. */
  const unsatisfied = (model: string, field: string, message: string, left: Offer[], what: (o: Offer) => string) =>
    new GotongError(`No provider of "${model}" ${message}`, {
      code: "no_matching_provider",
      status: 400,
      param: `provider.${field}`,
      hint: `Providers of "${model}" otherwise usable: ${describe(left, what)}. Change or drop provider.${field}.`,
    });

  const prices = (o: Offer) => `prompt ${o.price.pricePerMillionInput}, completion ${o.price.pricePerMillionOutput} base units per million tokens`;

  const listModels = async () => {
    const all = await current();
    const nameOf = namesOf(all);
    const byName = new Map<string, Offer[]>();
    for (const o of all) {
      // Pushed, not copied: a model may have thousands of offers.
      const name = nameOf(o);
      const list = byName.get(name);
      if (list) list.push(o);
      else byName.set(name, [o]);
    }
    return [...byName].map(([name, list]) => ({ name, offers: list }));
  };

  return {
    /** Every model on offer, with its offers (see `isLive` for which can serve now). */
    listModels,
    /**
     * The models at least one live provider serves now (see `isLive`), each with all its offers:
     * what a client is shown (`GET /v1/models`, the agent's list), never a model nobody serves.
     */
    async listLiveModels() {
      return (await listModels()).filter((m) => m.offers.some((o) => isLive(o.provider)));
    },
    /**
     * Offers for `model`, in the order to try them: only those declaring every needed capability
     * and meeting the preferences. Throws a 404 for a model nobody offers, and a 400 naming the
     * capability or preference when offers exist but none qualifies.
     */
    async route(model: string, request: RouteOptions = {}): Promise<Offer[]> {
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

      // Capabilities first: a request is never sent where part of it would be dropped.
      const needs = request.needs ?? [];
      let usable = matching.filter((o) => needs.every((c) => o.capabilities.includes(c)));
      if (usable.length === 0) {
        const missing = needs.filter((c) => !matching.some((o) => o.capabilities.includes(c)));
        const lacking = missing.length ? missing : needs;
        throw new GotongError(`No provider of "${model}" offers ${lacking.join(" and ")}${missing.length ? "" : " together"}`, {
          code: "capability_unavailable",
          status: 400,
          param: PARAM_OF[lacking[0]!],
          hint: `Its providers offer: ${describe(matching, (o) => o.capabilities.join(", ") || "nothing this gateway knows")}. Send the request without ${lacking.map((c) => PARAM_OF[c]).join(" and ")}, or choose a model whose providers offer ${lacking.join(" and ")} (GET /v1/models lists each model's capabilities).`,
        });
      }
      usable = usable.filter((o) => !untrusted.has(o.provider));
      if (usable.length === 0) {
        throw new GotongError(`Every provider of "${model}" has been excluded for bad receipts`, { code: "no_provider", status: 503 });
      }
      // Caught serving something else (a quorum's fraud verdict on-chain): never sent anything again.
      const suspended = usable.filter((o) => isSuspended(o.provider));
      if (suspended.length === usable.length) {
        throw new GotongError(`Every provider of "${model}" is suspended for fraud`, {
          code: "no_provider",
          status: 503,
          hint: `${describe(suspended, () => "suspended by ServingVerification")}. Wait for another provider to offer it, or choose another model.`,
        });
      }
      usable = usable.filter((o) => !suspended.includes(o));
      if (options.statusOf) {
        // A provider silent past the bound has vanished: it is not sent requests until it answers again.
        const dead = usable.filter((o) => options.statusOf!(o) === "dead");
        if (dead.length === usable.length) {
          throw new GotongError(`No provider of "${model}" is reachable`, {
            code: "no_provider_ready",
            status: 503,
            retryable: true,
            hint: `None of ${describe(dead, (o) => o.endpoint)} has answered its /health for a while; each is tried again as soon as it answers. Try again shortly.`,
          });
        }
        usable = usable.filter((o) => !dead.includes(o));
      }
      if (options.healthOf) {
        // A provider that says it cannot be paid or cannot serve (its /health) is not sent the request.
        const health = await Promise.all(usable.map((o) => options.healthOf!(o).catch(() => undefined)));
        const notReady = usable.filter((_, i) => health[i]?.ready === false);
        if (notReady.length === usable.length) {
          throw new GotongError(`No provider of "${model}" is ready to serve`, {
            code: "no_provider_ready",
            status: 503,
            retryable: true,
            hint: `Each says it is not ready: ${describe(notReady, (o) => `failing ${health[usable.indexOf(o)]!.failing.join(", ") || "its checks"}`)}. Try again shortly.`,
          });
        }
        usable = usable.filter((o) => !notReady.includes(o));
      }
      if (options.statusOf && options.healthOf) {
        // Each endpoint was asked just above: one that has never answered is not trusted with a
        // request, nor with the deposit of a new channel (an endpoint registered on-chain is only
        // a claim; a typo or a firewall would strand the deposit).
        const unanswered = usable.filter((o) => options.statusOf!(o) === "unanswered");
        if (unanswered.length === usable.length) {
          throw new GotongError(`No provider of "${model}" has answered yet`, {
            code: "no_provider_ready",
            status: 503,
            retryable: true,
            hint: `None of ${describe(unanswered, (o) => o.endpoint)} has answered its /health; each is used once it does. Try again shortly.`,
          });
        }
        usable = usable.filter((o) => !unanswered.includes(o));
      }

      const prefs = request.preferences ?? {};
      if (prefs.only) {
        const only = prefs.only;
        const left = usable;
        usable = usable.filter((o) => only.some((a) => sameAddress(a, o.provider)));
        if (usable.length === 0) throw unsatisfied(model, "only", `is in provider.only (${only.join(", ")})`, left, (o) => o.capabilities.join(", "));
      }
      if (prefs.ignore) {
        const ignore = prefs.ignore;
        const left = usable;
        usable = usable.filter((o) => !ignore.some((a) => sameAddress(a, o.provider)));
        if (usable.length === 0) throw unsatisfied(model, "ignore", "is left once provider.ignore is applied", left, (o) => o.capabilities.join(", "));
      }
      if (prefs.maxPrice) {
        const { prompt, completion } = prefs.maxPrice;
        const left = usable;
        usable = usable.filter((o) => (prompt === undefined || o.price.pricePerMillionInput <= prompt) && (completion === undefined || o.price.pricePerMillionOutput <= completion));
        if (usable.length === 0) {
          throw unsatisfied(model, "max_price", `is within provider.max_price (prompt ${prompt ?? "any"}, completion ${completion ?? "any"} base units per million tokens)`, left, prices);
        }
      }
      if (prefs.quantizations) {
        const wanted = prefs.quantizations;
        const left = usable;
        const types = await Promise.all(usable.map((o) => (options.weightTypeOf ? options.weightTypeOf(o).catch(() => undefined) : Promise.resolve(undefined))));
        const typeOf = new Map(usable.map((o, i) => [o, types[i]]));
        usable = usable.filter((o) => matchesQuantization(typeOf.get(o), wanted));
        if (usable.length === 0) throw unsatisfied(model, "quantizations", `serves it quantized as ${wanted.join(" or ")}`, left, (o) => `weights ${typeOf.get(o) ?? "unknown"}`);
      }

      const ranked = rank(usable, prefs.sort);
      let ordered: Offer[] = [];
      if (prefs.order) {
        const order = prefs.order;
        const position = (o: Offer) => order.findIndex((a) => sameAddress(a, o.provider));
        const time = now();
        ordered = usable
          .filter((o) => position(o) >= 0)
          .sort((a, b) => Number(isDown(a.provider, time)) - Number(isDown(b.provider, time)) || position(a) - position(b));
      }
      if (prefs.allowFallbacks === false) {
        if (!prefs.order) return ranked.slice(0, 1);
        if (ordered.length === 0) throw unsatisfied(model, "order", "is in provider.order, and provider.allow_fallbacks is false", usable, (o) => o.capabilities.join(", "));
        return ordered;
      }
      return [...ordered, ...ranked.filter((o) => !ordered.includes(o))];
    },
    /** Records a provider's response time (exponentially weighted). */
    observe(provider: Address, ms: number) {
      const old = latency.get(provider);
      latency.set(provider, old === undefined ? ms : old * 0.8 + ms * 0.2);
      downUntil.delete(provider);
    },
    /** Records the output tokens per second a provider delivered one request at (exponentially weighted). */
    observeThroughput(provider: Address, tokensPerSecond: number) {
      if (!Number.isFinite(tokensPerSecond) || tokensPerSecond <= 0) return;
      const old = throughput.get(provider);
      throughput.set(provider, old === undefined ? tokensPerSecond : old * 0.8 + tokensPerSecond * 0.2);
    },
    markDown(provider: Address) {
      downUntil.set(provider, now() + (options.cooldownMs ?? 15_000));
    },
    markUntrusted(provider: Address) {
      untrusted.add(provider);
    },
    isUntrusted: (provider: Address) => untrusted.has(provider),
    /** Whether the provider's on-chain record says it is suspended for fraud (it is then never routed to). */
    isSuspended,
    /**
     * Whether a provider is usable now: not excluded for a bad receipt, not suspended on-chain, not in cool-down after a
     * failure, and neither silent past the bound nor saying it is not ready (its /health).
     */
    isLive,
    /** What this gateway has measured of a provider: response time (ms) and output tokens per second. */
    measured: (provider: Address) => ({ latencyMs: latency.get(provider), tokensPerSecond: throughput.get(provider) }),
  };
}

export type Router = ReturnType<typeof createRouter>;
