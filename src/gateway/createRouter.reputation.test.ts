import { describe, expect, it } from "vitest";
import type { Address } from "viem";
import { isGotongError } from "../common/errors.ts";
import type { ProviderRecord } from "./challenges/providerRecord.ts";
import { reputationWeightBps } from "./challenges/reputationWeight.ts";
import { createRouter } from "./createRouter.ts";
import type { Offer } from "./discoverOffers.ts";

const A = "0x00000000000000000000000000000000000000aa" as Address;
const B = "0x00000000000000000000000000000000000000bb" as Address;
const C = "0x00000000000000000000000000000000000000cc" as Address;

function offer(provider: Address, input: bigint, output: bigint): Offer {
  return {
    provider,
    endpoint: `http://${provider}`,
    hpkePublicKey: `0x${"11".repeat(32)}`,
    stake: 1n,
    modelId: 1n,
    modelName: "m",
    weightsHash: `0x${"22".repeat(32)}`,
    royaltyBps: 0,
    price: { pricePerMillionInput: input, pricePerMillionOutput: output },
    capabilities: ["chat"],
  };
}

const record = (passed: bigint, failed: bigint, suspended = false, slashed = 0n): ProviderRecord => ({ challengesPassed: passed, challengesFailed: failed, slashed, suspended });

function routerOf(offers: Offer[], records: Partial<Record<Address, ProviderRecord>>) {
  return createRouter({ loadOffers: async () => offers, recordOf: (provider) => records[provider] });
}

const order = async (router: ReturnType<typeof createRouter>, sort?: "latency" | "throughput") =>
  (await router.route("m", { needs: ["chat"], preferences: sort ? { sort } : undefined })).map((o) => o.provider);

describe("reputationWeightBps", () => {
  it("is neutral without a record, +900% per failed challenge, and at most −20% for passes", () => {
    expect(reputationWeightBps(undefined)).toBe(10_000n);
    expect(reputationWeightBps(record(0n, 0n))).toBe(10_000n);
    expect(reputationWeightBps(record(0n, 1n))).toBe(100_000n);
    expect(reputationWeightBps(record(0n, 2n))).toBe(190_000n);
    expect(reputationWeightBps(record(50n, 0n))).toBe(9_000n);
    expect(reputationWeightBps(record(1n, 0n))).toBe(9_961n); // 10,000 − ⌊2,000·1/51⌋
    expect(reputationWeightBps(record(10n ** 9n, 0n))).toBe(8_001n); // saturates short of −20%
    expect(reputationWeightBps(record(50n, 1n))).toBe(90_000n);
  });
});

describe("createRouter with on-chain records", () => {
  it("never routes to a suspended provider, however cheap, and does not count it as live", async () => {
    const router = routerOf([offer(A, 1n, 1n), offer(B, 5n, 5n)], { [A]: record(0n, 1n, true, 1_000_000n) });
    expect(await order(router)).toEqual([B]);
    expect(await order(router, "latency")).toEqual([B]);
    expect(router.isSuspended(A)).toBe(true);
    expect(router.isLive(A)).toBe(false);
    expect(router.isLive(B)).toBe(true);
  });

  it("refuses with a 503 naming the providers when every provider of the model is suspended", async () => {
    const router = routerOf([offer(A, 1n, 1n)], { [A]: record(0n, 1n, true) });
    const error = await router.route("m", { needs: ["chat"] }).catch((e: unknown) => e);
    expect(isGotongError(error) && error.status).toBe(503);
    expect((error as Error).message).toBe('Every provider of "m" is suspended for fraud');
    expect(isGotongError(error) && error.hint).toContain(A);
    expect(await router.listLiveModels()).toEqual([]);
  });

  it("weighs one failed challenge heavily: a provider at a fifth of the price still comes after a clean one", async () => {
    const router = routerOf([offer(A, 1n, 1n), offer(B, 5n, 5n)], { [A]: record(0n, 1n) });
    expect(await order(router)).toEqual([B, A]);
  });

  it("but not past any price: ten times cheaper than a clean one, a provider with one failure is tried first", async () => {
    // 2 × 100,000 bps < 22 × 10,000 bps.
    const router = routerOf([offer(A, 1n, 1n), offer(B, 11n, 11n)], { [A]: record(0n, 1n) });
    expect(await order(router)).toEqual([A, B]);
  });

  it("weighs passes mildly: they break a tie in price and win within 20%, never beyond", async () => {
    const tie = routerOf([offer(A, 10n, 10n), offer(B, 10n, 10n)], { [B]: record(50n, 0n) });
    expect(await order(tie)).toEqual([B, A]);
    // B at 11 with 50 passes weighs 22 × 9,000 = 198,000 against A's 20 × 10,000 = 200,000.
    const within = routerOf([offer(A, 10n, 10n), offer(B, 11n, 11n)], { [B]: record(50n, 0n) });
    expect(await order(within)).toEqual([B, A]);
    // B at 13 with any number of passes: 26 × 8,001 = 208,026 > 200,000.
    const beyond = routerOf([offer(A, 10n, 10n), offer(B, 13n, 13n)], { [B]: record(10n ** 9n, 0n) });
    expect(await order(beyond)).toEqual([A, B]);
  });

  it("still weighs the record among free offers, where price times weight is zero for all", async () => {
    const router = routerOf([offer(A, 0n, 0n), offer(B, 0n, 0n), offer(C, 0n, 0n)], { [A]: record(0n, 1n), [C]: record(10n, 0n) });
    expect(await order(router)).toEqual([C, B, A]);
  });

  it("puts providers with failed challenges after the others under a client's sort by latency or throughput", async () => {
    const router = routerOf([offer(A, 1n, 1n), offer(B, 5n, 5n)], { [A]: record(0n, 1n) });
    router.observe(A, 10);
    router.observe(B, 500);
    router.observeThroughput(A, 100);
    router.observeThroughput(B, 1);
    expect(await order(router, "latency")).toEqual([B, A]);
    expect(await order(router, "throughput")).toEqual([B, A]);
  });

  it("orders by price, then latency, as before when there are no records", async () => {
    const router = routerOf([offer(A, 5n, 5n), offer(B, 1n, 1n), offer(C, 1n, 1n)], {});
    router.observe(B, 300);
    router.observe(C, 20);
    expect(await order(router)).toEqual([C, B, A]);
  });
});
