import { describe, expect, it } from "vitest";
import type { Address } from "viem";
import { isGotongError } from "../common/errors.ts";
import { createRouter } from "./createRouter.ts";
import type { Offer } from "./discoverOffers.ts";

const A = "0x00000000000000000000000000000000000000aa" as Address;
const B = "0x00000000000000000000000000000000000000bb" as Address;
const C = "0x00000000000000000000000000000000000000cc" as Address;

function offer(provider: Address, price: bigint): Offer {
  return {
    provider,
    endpoint: `http://${provider}`,
    hpkePublicKey: `0x${"11".repeat(32)}`,
    stake: 1n,
    modelId: 1n,
    modelName: "m",
    weightsHash: `0x${"22".repeat(32)}`,
    royaltyBps: 0,
    price: { pricePerMillionInput: price, pricePerMillionOutput: price },
    capabilities: ["chat"],
  };
}

type Health = { ready: boolean; failing: string[] } | undefined;

function routerWith(health: Record<Address, Health | Error>, status: Partial<Record<Address, "ready" | "unknown" | "unanswered">> = {}) {
  const asked: Address[] = [];
  const router = createRouter({
    loadOffers: async () => [offer(A, 1n), offer(B, 2n), offer(C, 3n)],
    statusOf: (o) => status[o.provider] ?? "unknown",
    healthOf: async (o) => {
      asked.push(o.provider);
      const h = health[o.provider];
      if (h instanceof Error) throw h;
      return h;
    },
  });
  return { router, asked };
}

describe("the router and providers' readiness", () => {
  it("skips a provider whose /health says it is not ready, and keeps the order of the rest", async () => {
    const { router, asked } = routerWith({ [A]: { ready: false, failing: ["store"] }, [B]: { ready: true, failing: [] }, [C]: { ready: true, failing: [] } });
    expect((await router.route("m")).map((o) => o.provider)).toEqual([B, C]);
    expect(asked.sort()).toEqual([A, B, C]);
  });

  it("tries a provider that does not say (it answered something else, or its reader failed) like any other", async () => {
    const { router } = routerWith({ [A]: undefined, [B]: new Error("reader broke"), [C]: { ready: false, failing: ["chain", "registration"] } });
    expect((await router.route("m")).map((o) => o.provider)).toEqual([A, B]);
  });

  it("refuses with 503 no_provider_ready, naming each provider's failing checks, when none is ready", async () => {
    const { router } = routerWith({ [A]: { ready: false, failing: ["store"] }, [B]: { ready: false, failing: ["chain", "registration"] }, [C]: { ready: false, failing: [] } });
    const error = await router.route("m").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isGotongError(error, "no_provider_ready")).toBe(true);
    expect(error).toMatchObject({ status: 503, retryable: true, message: 'No provider of "m" is ready to serve' });
    const hint = (error as { hint: string }).hint;
    expect(hint).toContain(`${A} (failing store)`);
    expect(hint).toContain(`${B} (failing chain, registration)`);
    expect(hint).toContain(`${C} (failing its checks)`);
  });

  it("never routes to an endpoint that has never answered its /health, cheapest or not, nor lists it as live", async () => {
    const { router } = routerWith({ [A]: undefined, [B]: undefined, [C]: { ready: true, failing: [] } }, { [A]: "unanswered", [B]: "unknown", [C]: "ready" });
    expect((await router.route("m")).map((o) => o.provider)).toEqual([B, C]);
    expect(router.isLive(A)).toBe(false);
    expect(router.isLive(B)).toBe(true);
  });

  it("refuses with 503 no_provider_ready naming the endpoints when no provider has answered yet", async () => {
    const { router } = routerWith({ [A]: undefined, [B]: undefined, [C]: undefined }, { [A]: "unanswered", [B]: "unanswered", [C]: "unanswered" });
    const error = await router.route("m").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isGotongError(error, "no_provider_ready")).toBe(true);
    expect(error).toMatchObject({ status: 503, retryable: true, message: 'No provider of "m" has answered yet' });
    expect((error as { hint: string }).hint).toContain(`http://${A}`);
  });
});
