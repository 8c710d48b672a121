import { describe, expect, it } from "vitest";
import { getAddress, type Address } from "viem";
import { isGotongError } from "../common/errors.ts";
import type { Capability } from "../protocol/capabilities.ts";
import { createRouter } from "./createRouter.ts";
import type { Offer } from "./discoverOffers.ts";
import { mergeRoutingPreferences, parseRoutingPreferences, type RoutingPreferences } from "./routingPreferences.ts";

const A = "0x00000000000000000000000000000000000000aa" as Address;
const B = "0x00000000000000000000000000000000000000bb" as Address;
const C = "0x00000000000000000000000000000000000000cc" as Address;
const UNKNOWN = "0x00000000000000000000000000000000000000ff" as Address;

const LLAMA: Capability[] = ["chat", "tools", "structured_outputs"];

function offer(provider: Address, input: bigint, output: bigint, capabilities: Capability[] = LLAMA, modelName = "m", modelId = 1n): Offer {
  return {
    provider,
    endpoint: `http://${provider}`,
    hpkePublicKey: `0x${"11".repeat(32)}`,
    stake: 1n,
    modelId,
    modelName,
    weightsHash: `0x${"22".repeat(32)}`,
    royaltyBps: 0,
    price: { pricePerMillionInput: input, pricePerMillionOutput: output },
    capabilities,
  };
}

function routerOf(offers: Offer[], weightTypes: Record<string, string | undefined> = {}) {
  let time = 1_000_000;
  const router = createRouter({ loadOffers: async () => offers, now: () => time, weightTypeOf: async (o) => weightTypes[o.provider] });
  return Object.assign(router, { advance: (ms: number) => (time += ms) });
}

const providers = (list: Offer[]) => list.map((o) => o.provider);

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isGotongError(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("createRouter", () => {
  describe("capabilities", () => {
    it("sends a request only to offers that declare every capability it needs", async () => {
      const router = routerOf([offer(A, 1n, 1n, ["chat"]), offer(B, 5n, 5n, LLAMA), offer(C, 3n, 3n, ["chat", "structured_outputs"])]);
      expect(providers(await router.route("m", { needs: ["chat"] }))).toEqual([A, C, B]);
      expect(providers(await router.route("m", { needs: ["chat", "tools"] }))).toEqual([B]);
      expect(providers(await router.route("m", { needs: ["chat", "structured_outputs"] }))).toEqual([C, B]);
    });

    it("refuses with a 400 naming the capability, the model and what each provider offers, never falling back", async () => {
      const router = routerOf([offer(A, 1n, 1n, ["chat"]), offer(B, 1n, 1n, ["chat"])]);
      const error = await refusal(router.route("m", { needs: ["chat", "tools"] }));
      expect(error.status).toBe(400);
      expect(error.code).toBe("capability_unavailable");
      expect(error.param).toBe("tools");
      expect(error.message).toBe('No provider of "m" offers tools');
      expect(error.hint).toContain(`${A} (chat)`);
      expect(error.hint).toContain(`${B} (chat)`);
    });

    it("names a pair of capabilities no single provider offers together", async () => {
      const router = routerOf([offer(A, 1n, 1n, ["chat", "tools"]), offer(B, 1n, 1n, ["chat", "structured_outputs"])]);
      const error = await refusal(router.route("m", { needs: ["chat", "tools", "structured_outputs"] }));
      expect(error.code).toBe("capability_unavailable");
      expect(error.message).toBe('No provider of "m" offers chat and tools and structured_outputs together');
    });

    it("still says 404 for a model nobody offers", async () => {
      const error = await refusal(routerOf([offer(A, 1n, 1n)]).route("other", { needs: ["tools"] }));
      expect(error.status).toBe(404);
      expect(error.code).toBe("model_not_found");
    });

    it("refuses an embeddings request on a chat-only model, and a chat request on an embedding model", async () => {
      const router = routerOf([offer(A, 1n, 1n, ["embeddings"], "e", 2n), offer(B, 1n, 1n, ["chat"], "m", 1n)]);
      expect(providers(await router.route("e", { needs: ["embeddings"] }))).toEqual([A]);
      expect((await refusal(router.route("e", { needs: ["chat"] }))).code).toBe("capability_unavailable");
      expect((await refusal(router.route("m", { needs: ["embeddings"] }))).code).toBe("capability_unavailable");
    });
  });

  describe("ordering", () => {
    it("by default tries the cheapest first, then the fastest, and providers in cool-down last", async () => {
      const router = routerOf([offer(A, 5n, 5n), offer(B, 1n, 1n), offer(C, 1n, 1n)]);
      router.observe(B, 300);
      router.observe(C, 100);
      expect(providers(await router.route("m"))).toEqual([C, B, A]);
      router.markDown(C);
      expect(providers(await router.route("m"))).toEqual([B, A, C]);
      router.advance(16_000);
      expect(providers(await router.route("m"))).toEqual([C, B, A]);
    });

    it("sort: price orders by price, then latency", async () => {
      const router = routerOf([offer(A, 2n, 2n), offer(B, 1n, 4n), offer(C, 1n, 1n)]);
      router.observe(A, 1);
      expect(providers(await router.route("m", { preferences: { sort: "price" } }))).toEqual([C, A, B]);
    });

    it("sort: latency puts the lowest measured latency first and unmeasured providers after", async () => {
      const router = routerOf([offer(A, 1n, 1n), offer(B, 9n, 9n), offer(C, 5n, 5n)]);
      router.observe(B, 50);
      router.observe(C, 200);
      expect(providers(await router.route("m", { preferences: { sort: "latency" } }))).toEqual([B, C, A]);
    });

    it("sort: throughput puts the highest measured tokens per second first", async () => {
      const router = routerOf([offer(A, 1n, 1n), offer(B, 9n, 9n), offer(C, 5n, 5n)]);
      router.observeThroughput(B, 40);
      router.observeThroughput(C, 400);
      router.observeThroughput(A, Number.NaN); // not a measurement
      expect(providers(await router.route("m", { preferences: { sort: "throughput" } }))).toEqual([C, B, A]);
    });

    it("order: the named providers first in that order, then the rest as ranked", async () => {
      const router = routerOf([offer(A, 1n, 1n), offer(B, 2n, 2n), offer(C, 3n, 3n)]);
      expect(providers(await router.route("m", { preferences: { order: [C, B] } }))).toEqual([C, B, A]);
      // Addresses are matched whatever their case; an unknown one in `order` is skipped.
      expect(providers(await router.route("m", { preferences: { order: [UNKNOWN, C.toUpperCase().replace("0X", "0x") as Address] } }))).toEqual([C, A, B]);
    });

    it("allow_fallbacks: false keeps to the ordered providers, or to the first choice without an order", async () => {
      const router = routerOf([offer(A, 1n, 1n), offer(B, 2n, 2n), offer(C, 3n, 3n)]);
      expect(providers(await router.route("m", { preferences: { order: [C, B], allowFallbacks: false } }))).toEqual([C, B]);
      expect(providers(await router.route("m", { preferences: { allowFallbacks: false } }))).toEqual([A]);
      expect(providers(await router.route("m", { preferences: { allowFallbacks: false, sort: "price", ignore: [A] } }))).toEqual([B]);
      const error = await refusal(router.route("m", { preferences: { order: [UNKNOWN], allowFallbacks: false } }));
      expect(error).toMatchObject({ status: 400, code: "no_matching_provider", param: "provider.order" });
    });
  });

  describe("filters", () => {
    it("only: keeps the named providers, and refuses clearly when none of them offers the model", async () => {
      const router = routerOf([offer(A, 1n, 1n), offer(B, 2n, 2n)]);
      expect(providers(await router.route("m", { preferences: { only: [B, UNKNOWN] } }))).toEqual([B]);
      const error = await refusal(router.route("m", { preferences: { only: [UNKNOWN] } }));
      expect(error).toMatchObject({ status: 400, code: "no_matching_provider", param: "provider.only" });
      expect(error.message).toContain(UNKNOWN);
      expect(error.hint).toContain(A);
      expect(error.hint).toContain(B);
    });

    it("ignore: skips the named providers, and refuses when it leaves none", async () => {
      const router = routerOf([offer(A, 1n, 1n), offer(B, 2n, 2n)]);
      expect(providers(await router.route("m", { preferences: { ignore: [A] } }))).toEqual([B]);
      expect(await refusal(router.route("m", { preferences: { ignore: [A, B] } }))).toMatchObject({ code: "no_matching_provider", param: "provider.ignore" });
    });

    it("max_price: keeps offers at or under both ceilings, and refuses with the prices there are", async () => {
      const router = routerOf([offer(A, 10n, 30n), offer(B, 20n, 20n), offer(C, 30n, 10n)]);
      expect(providers(await router.route("m", { preferences: { maxPrice: { prompt: 20n } } }))).toEqual([A, B]);
      expect(providers(await router.route("m", { preferences: { maxPrice: { completion: 20n } } }))).toEqual([B, C]);
      expect(providers(await router.route("m", { preferences: { maxPrice: { prompt: 20n, completion: 20n } } }))).toEqual([B]);
      const error = await refusal(router.route("m", { preferences: { maxPrice: { prompt: 9n } } }));
      expect(error).toMatchObject({ status: 400, code: "no_matching_provider", param: "provider.max_price" });
      expect(error.hint).toContain("prompt 10, completion 30 base units per million tokens");
    });

    it("quantizations: matches OpenRouter levels and GGUF type names; a provider that does not say is `unknown`", async () => {
      const router = routerOf([offer(A, 1n, 1n), offer(B, 2n, 2n), offer(C, 3n, 3n)], { [A]: "Q4_K", [B]: "F16", [C]: undefined });
      expect(providers(await router.route("m", { preferences: { quantizations: ["int4"] } }))).toEqual([A]);
      expect(providers(await router.route("m", { preferences: { quantizations: ["fp16", "unknown"] } }))).toEqual([B, C]);
      expect(providers(await router.route("m", { preferences: { quantizations: ["q4_k", "f16"] } }))).toEqual([A, B]);
      const error = await refusal(router.route("m", { preferences: { quantizations: ["int8"] } }));
      expect(error).toMatchObject({ status: 400, code: "no_matching_provider", param: "provider.quantizations" });
      expect(error.hint).toContain("weights Q4_K");
    });

    it("applies capabilities first: `only` naming just a provider without the capability leaves none", async () => {
      const router = routerOf([offer(A, 1n, 1n, ["chat"]), offer(B, 1n, 1n, LLAMA)]);
      const error = await refusal(router.route("m", { needs: ["tools"], preferences: { only: [A] } }));
      expect(error).toMatchObject({ code: "no_matching_provider", param: "provider.only" });
      expect(providers(await router.route("m", { needs: ["tools"], preferences: { only: [A, B] } }))).toEqual([B]);
    });

    it("never routes to a provider caught overcharging", async () => {
      const router = routerOf([offer(A, 1n, 1n), offer(B, 2n, 2n)]);
      router.markUntrusted(A);
      expect(providers(await router.route("m", { preferences: { order: [A] } }))).toEqual([B]);
      expect(router.isLive(A)).toBe(false);
      expect(router.isLive(B)).toBe(true);
    });
  });
});

describe("parseRoutingPreferences", () => {
  const parse = (value: unknown) => parseRoutingPreferences(value, { decimals: 6 });
  const refused = (value: unknown) => {
    try {
      parse(value);
    } catch (error) {
      if (isGotongError(error)) return error;
      throw error;
    }
    throw new Error("expected a refusal");
  };

  it("reads OpenRouter's field names into typed preferences", () => {
    const prefs: RoutingPreferences = parse({
      order: [B.toUpperCase().replace("0X", "0x")],
      only: [A, B],
      ignore: [C],
      allow_fallbacks: false,
      require_parameters: true,
      sort: "throughput",
      max_price: { prompt: 0.5, completion: "2", request: 0 },
      quantizations: ["INT4", "q8_0"],
      data_collection: "allow",
      zdr: false,
    });
    expect(prefs).toEqual({
      order: [getAddress(B)],
      only: [getAddress(A), getAddress(B)],
      ignore: [getAddress(C)],
      allowFallbacks: false,
      requireParameters: true,
      sort: "throughput",
      maxPrice: { prompt: 500_000n, completion: 2_000_000n },
      quantizations: ["int4", "q8_0"],
    });
    expect(parse({ sort: { by: "latency", partition: "none" } })).toEqual({ sort: "latency" });
    expect(parse(undefined)).toEqual({});
    expect(parse(null)).toEqual({});
  });

  it("converts max_price from whole payment tokens to base units exactly", () => {
    expect(parse({ max_price: { prompt: "0.000001" } }).maxPrice).toEqual({ prompt: 1n });
    expect(parse({ max_price: { prompt: 3, completion: "12.340000" } }).maxPrice).toEqual({ prompt: 3_000_000n, completion: 12_340_000n });
    expect(refused({ max_price: { prompt: "0.0000001" } })).toMatchObject({ param: "provider.max_price.prompt", message: expect.stringContaining("more decimals than the payment token's 6") });
    expect(refused({ max_price: { prompt: -1 } }).param).toBe("provider.max_price.prompt");
    expect(refused({ max_price: { prompt: 1e-7 } }).param).toBe("provider.max_price.prompt");
    expect(refused({ max_price: { image: 1 } }).param).toBe("provider.max_price.image");
    expect(refused({ max_price: 5 }).param).toBe("provider.max_price");
  });

  it("refuses with a 400 naming each bad field", () => {
    expect(refused("cheap")).toMatchObject({ status: 400, code: "invalid_parameter", param: "provider" });
    expect(refused({ orderr: [A] }).param).toBe("provider.orderr");
    expect(refused({ order: A }).param).toBe("provider.order");
    expect(refused({ only: [A, "openai"] })).toMatchObject({ param: "provider.only[1]", message: expect.stringContaining('"openai"') });
    expect(refused({ allow_fallbacks: "no" }).param).toBe("provider.allow_fallbacks");
    expect(refused({ require_parameters: 1 }).param).toBe("provider.require_parameters");
    expect(refused({ sort: "cheapest" }).param).toBe("provider.sort");
    expect(refused({ quantizations: "int4" }).param).toBe("provider.quantizations");
    expect(refused({ quantizations: ["int4", 8] }).param).toBe("provider.quantizations[1]");
    expect(refused({ data_collection: "deny" }).param).toBe("provider.data_collection");
    expect(refused({ zdr: true }).param).toBe("provider.zdr");
    expect(() => parseRoutingPreferences({ sort: 1 }, { decimals: 6, field: "--routing" })).toThrow(/--routing\.sort/);
  });

  it("lets a request's fields replace the gateway's defaults one by one", () => {
    expect(mergeRoutingPreferences({ sort: "price", ignore: [A], maxPrice: { prompt: 5n } }, { sort: "latency", maxPrice: { completion: 1n } })).toEqual({
      sort: "latency",
      ignore: [A],
      maxPrice: { completion: 1n },
    });
    expect(mergeRoutingPreferences(undefined, {})).toEqual({});
  });
});

describe("createRouter: cool-down and exclusion", () => {
  /** A router on a clock the test moves, recording which providers' /health it asked. */
  function clocked(offers: Offer[], options: { cooldownMs?: number } = {}) {
    let time = 5_000_000;
    const healthAsked: Address[] = [];
    const router = createRouter({
      loadOffers: async () => offers,
      healthOf: async (o) => (healthAsked.push(o.provider), undefined),
      now: () => time,
      ...options,
    });
    return Object.assign(router, { advance: (ms: number) => (time += ms), healthAsked });
  }

  it("keeps a failed provider last for exactly the cool-down (default 15 s), then ranks it as before", async () => {
    const router = clocked([offer(A, 1n, 1n), offer(B, 2n, 2n), offer(C, 3n, 3n)]);
    router.markDown(A);
    expect(router.isLive(A)).toBe(false);
    expect(providers(await router.route("m"))).toEqual([B, C, A]);
    router.advance(14_999);
    expect(providers(await router.route("m"))).toEqual([B, C, A]);
    router.advance(1);
    expect(providers(await router.route("m"))).toEqual([A, B, C]);
    expect(router.isLive(A)).toBe(true);
  });

  it("takes cooldownMs, and still tries providers in cool-down (cheapest first) when every one has failed", async () => {
    const router = clocked([offer(A, 1n, 1n), offer(B, 2n, 2n), offer(C, 3n, 3n)], { cooldownMs: 1_000 });
    router.markDown(B);
    router.advance(500);
    router.markDown(A);
    router.markDown(C);
    expect(providers(await router.route("m"))).toEqual([A, B, C]);
    router.advance(500); // B's cool-down is over, A's and C's are not
    expect(providers(await router.route("m"))).toEqual([B, A, C]);
  });

  it("ends a cool-down as soon as the provider answers again", async () => {
    const router = clocked([offer(A, 1n, 1n), offer(B, 2n, 2n)]);
    router.markDown(A);
    expect(providers(await router.route("m"))).toEqual([B, A]);
    router.observe(A, 120);
    expect(router.isLive(A)).toBe(true);
    expect(providers(await router.route("m"))).toEqual([A, B]);
  });

  it("applies the cool-down inside provider.order, and to the single choice when fallbacks are off", async () => {
    const router = clocked([offer(A, 1n, 1n), offer(B, 2n, 2n), offer(C, 3n, 3n)]);
    router.markDown(C);
    // C is named first but failed: the other named provider goes before it, the unnamed after both.
    expect(providers(await router.route("m", { preferences: { order: [C, B] } }))).toEqual([B, C, A]);
    router.markDown(A);
    expect(providers(await router.route("m", { preferences: { allowFallbacks: false } }))).toEqual([B]);
  });

  it("never routes to a provider excluded for a bad receipt, not even after the cool-down, nor asks its /health", async () => {
    const router = clocked([offer(A, 1n, 1n), offer(B, 2n, 2n)]);
    router.markUntrusted(A);
    router.advance(3_600_000);
    expect(providers(await router.route("m"))).toEqual([B]);
    expect(await refusal(router.route("m", { preferences: { order: [A], allowFallbacks: false } }))).toMatchObject({ code: "no_matching_provider", param: "provider.order" });
    expect(router.healthAsked).not.toContain(A);
    expect(router.isUntrusted(A)).toBe(true);
    expect(router.isLive(A)).toBe(false);
    // Listing models still shows its offer: exclusion is this gateway's routing, not the network's.
    expect((await router.listModels())[0]!.offers.map((o) => o.provider)).toEqual([A, B]);
  });

  it("refuses with 503 no_provider when every provider of the model is excluded", async () => {
    const router = clocked([offer(A, 1n, 1n), offer(B, 2n, 2n)]);
    router.markUntrusted(A);
    router.markUntrusted(B);
    const error = await refusal(router.route("m"));
    expect(error).toMatchObject({ code: "no_provider", status: 503, message: 'Every provider of "m" has been excluded for bad receipts' });
  });

  it("reads the offers once per refreshMs, shares one read between concurrent routes, and retries a failed read", async () => {
    let fail = false;
    let loads = 0;
    let time = 0;
    const router = createRouter({
      loadOffers: async () => {
        loads++;
        if (fail) throw new Error("rpc down");
        return [offer(A, 1n, 1n)];
      },
      now: () => time,
      refreshMs: 1_000,
      staleMs: 1_000, // offers past refreshMs are never served while being read again
    });
    await Promise.all([router.route("m"), router.route("m"), router.listModels()]);
    expect(loads).toBe(1);
    time = 999;
    await router.route("m");
    expect(loads).toBe(1);
    time = 1_000;
    fail = true;
    await expect(router.route("m")).rejects.toThrow("rpc down");
    fail = false;
    expect(providers(await router.route("m"))).toEqual([A]);
    expect(loads).toBe(3);
  });

  it("answers from recent offers while they are read again, waits only for offers older than staleMs, and retries a failed re-read", async () => {
    let time = 0;
    let loads = 0;
    let pending: { resolve(o: Offer[]): void; reject(e: Error): void } | undefined;
    const router = createRouter({
      loadOffers: () => {
        loads++;
        return new Promise<Offer[]>((resolve, reject) => (pending = { resolve, reject }));
      },
      now: () => time,
      refreshMs: 1_000,
      staleMs: 5_000,
    });
    const first = router.route("m"); // nothing read yet: the first read is waited for
    pending!.resolve([offer(A, 1n, 1n)]);
    expect(providers(await first)).toEqual([A]);
    time = 1_500; // due for a re-read: it starts, and a burst is answered from the offers in hand
    const burst = await Promise.all(Array.from({ length: 20 }, () => router.route("m")));
    expect(burst.map(providers)).toEqual(Array.from({ length: 20 }, () => [A]));
    expect(loads).toBe(2);
    pending!.reject(new Error("rpc down")); // a failed re-read fails nobody, and the next request retries it
    await Promise.resolve();
    expect(providers(await router.route("m"))).toEqual([A]);
    expect(loads).toBe(3);
    pending!.resolve([offer(B, 1n, 1n)]);
    await Promise.resolve();
    expect(providers(await router.route("m"))).toEqual([B]); // the re-read's offers, once it lands
    time = 1_500 + 5_000; // older than staleMs: requests wait for the chain, and see its error
    const late = router.route("m");
    pending!.reject(new Error("rpc down"));
    await expect(late).rejects.toThrow("rpc down");
    expect(loads).toBe(4);
  });

  it("tells models that share a name apart by id: name@id routes, the bare name is 400 model_ambiguous", async () => {
    const router = routerOf([offer(A, 1n, 1n, LLAMA, "m", 1n), offer(B, 1n, 1n, LLAMA, "m", 2n), offer(C, 1n, 1n, LLAMA, "solo", 3n)]);
    expect((await router.listModels()).map((m) => m.name).sort()).toEqual(["m@1", "m@2", "solo"]);
    expect(providers(await router.route("m@2"))).toEqual([B]);
    expect(await refusal(router.route("m"))).toMatchObject({ code: "model_ambiguous", status: 400, param: "model", hint: "Name one: m@1, m@2." });
    expect(await refusal(router.route("m@9"))).toMatchObject({ code: "model_not_found", status: 404 });
  });
});
