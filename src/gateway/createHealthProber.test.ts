import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Address } from "viem";
import { gotongRejectionOf } from "../../test/helpers/gotongErrorOf.ts";
import { createHealthProber } from "./createHealthProber.ts";
import { createProviderHealth, type ProviderHealth } from "./createProviderHealth.ts";
import { createRouter } from "./createRouter.ts";
import type { Offer } from "./discoverOffers.ts";

const A = "0x00000000000000000000000000000000000000aa" as Address;
const B = "0x00000000000000000000000000000000000000bb" as Address;

function offer(provider: Address, endpoint: string, modelName = "m"): Offer {
  return {
    provider,
    endpoint,
    hpkePublicKey: `0x${"11".repeat(32)}`,
    stake: 1n,
    modelId: modelName === "m" ? 1n : 2n,
    modelName,
    weightsHash: `0x${"22".repeat(32)}`,
    royaltyBps: 0,
    price: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n },
    capabilities: ["chat"],
  };
}

const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve)))));

/** A provider's `/health` answering 200, on `port` (0: any); `close()` makes it vanish. */
async function healthServer(port = 0) {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe("liveness: a provider that stops answering /health", () => {
  it("is unknown at first, dead once silent for deadAfterMs, then neither routed to nor listed, and live again when it answers", async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const a = await healthServer();
    const b = await healthServer();
    const health = createProviderHealth({ deadAfterMs: 10_000, timeoutMs: 1_000, now });
    const offers = [offer(A, a.endpoint), offer(B, b.endpoint, "other")];
    const router = createRouter({ loadOffers: async () => offers, healthOf: health.of, statusOf: health.statusOf, now });
    const prober = createHealthProber({ health, offers: async () => offers });

    expect(health.statusOf(offers[0]!)).toBe("unknown");
    await prober.probeNow();
    expect(health.statusOf(offers[0]!)).toBe("ready");
    expect((await router.listLiveModels()).map((m) => m.name)).toEqual(["m", "other"]);

    await a.close();
    await prober.probeNow();
    // Silent, but not for long: still tried (a request finds out), still listed.
    expect(health.statusOf(offers[0]!)).toBe("unknown");
    expect(router.isLive(A)).toBe(true);
    clock += 9_999;
    await prober.probeNow();
    expect(health.statusOf(offers[0]!)).toBe("unknown");
    clock += 1;
    await prober.probeNow();
    expect(health.statusOf(offers[0]!)).toBe("dead");
    expect(health.silentFor(offers[0]!)).toBe(10_000);
    expect(router.isLive(A)).toBe(false);
    expect(router.isLive(B)).toBe(true);
    expect((await router.listLiveModels()).map((m) => m.name)).toEqual(["other"]);
    // The full list still has it (the settler still needs its endpoint to pay it).
    expect((await router.listModels()).map((m) => m.name)).toEqual(["m", "other"]);
    const refused = await gotongRejectionOf(router.route("m"));
    expect(refused.code).toBe("no_provider_ready");
    expect(refused.status).toBe(503);
    expect(refused.hint).toContain(a.endpoint);

    const back = await healthServer(a.port);
    expect(back.endpoint).toBe(a.endpoint);
    await prober.probeNow();
    expect(health.statusOf(offers[0]!)).toBe("ready");
    expect((await router.route("m")).map((o) => o.provider)).toEqual([A]);
    expect((await router.listLiveModels()).map((m) => m.name)).toEqual(["m", "other"]);
  });

  it("counts a provider that says it is not ready as not live for the listing, and routes around a dead one", async () => {
    let clock = 0;
    const answers: Record<string, ProviderHealth | undefined | "silent"> = {};
    const silentSince: Record<string, number> = {};
    const statusOf = (o: Offer) => {
      const a = answers[o.endpoint];
      if (a === "silent") return clock - silentSince[o.endpoint]! >= 100 ? ("dead" as const) : ("unknown" as const);
      return a === undefined ? ("unknown" as const) : a.ready ? ("ready" as const) : ("not_ready" as const);
    };
    const offers = [offer(A, "http://a"), { ...offer(B, "http://b"), price: { pricePerMillionInput: 5n, pricePerMillionOutput: 5n } }];
    const router = createRouter({ loadOffers: async () => offers, statusOf, now: () => clock });
    answers["http://a"] = { ready: false, failing: ["store"] };
    answers["http://b"] = "silent";
    silentSince["http://b"] = 0;
    await router.listModels();
    expect(router.isLive(A)).toBe(false);
    expect(router.isLive(B)).toBe(true);
    clock = 100;
    expect(router.isLive(B)).toBe(false);
    expect(await router.listLiveModels()).toEqual([]);
    answers["http://a"] = { ready: true, failing: [] };
    expect((await router.route("m")).map((o) => o.provider)).toEqual([A]);
  });
});

describe("createHealthProber", () => {
  it("asks each endpoint once per round, however many models it offers, with at most `concurrency` probes in flight", async () => {
    const offers = Array.from({ length: 10 }, (_, i) => [offer(A, `http://p${i}`), offer(A, `http://p${i}`, "other")]).flat();
    const asked: string[] = [];
    let inFlight = 0;
    let most = 0;
    const prober = createHealthProber({
      offers: async () => offers,
      concurrency: 3,
      health: {
        async probe(o) {
          asked.push(o.endpoint);
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
          return { ready: true, failing: [] };
        },
        statusOf: () => "ready",
      },
    });
    await prober.probeNow();
    expect(asked.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `http://p${i}`).sort());
    expect(most).toBe(3);
  });

  it("runs rounds every intervalMs once started, and none after stop", async () => {
    let rounds = 0;
    const prober = createHealthProber({ offers: async () => (rounds++, []), intervalMs: 20, health: { probe: async () => undefined, statusOf: () => "unknown" } });
    prober.start();
    await new Promise((resolve) => setTimeout(resolve, 110));
    await prober.stop();
    const seen = rounds;
    expect(seen).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(rounds).toBe(seen);
  });
});
