import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { waitFor } from "../helpers/waitFor.ts";

type Health = { status: number; body: { ok: boolean; failing: string[]; checks: Record<string, { ok: boolean; error?: string } & Record<string, unknown>>; error?: { code: string; message: string } } };

async function health(url: string): Promise<Health> {
  const res = await fetch(`${url}/health`);
  return { status: res.status, body: (await res.json()) as Health["body"] };
}

/** Polls `/health` until it answers 503 (readiness reuses the chain's answers for 2 s, the store's for 1 s). */
function until503(url: string, what: string): Promise<Health> {
  return waitFor(async () => {
    const h = await health(url);
    return h.status === 503 ? h : undefined;
  }, { what, timeoutMs: 15_000, intervalMs: 200 });
}

describe("GET /health reports real readiness", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  /** The cheapest provider: the one a gateway sends requests to first, while it is ready. */
  let cheapest: RunningProvider;
  let gateway: RunningGateway;

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    cheapest = await net.provider(net.model.path, { price: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n } });
    gateway = await net.gateway();
  });
  afterAll(async () => {
    await net?.stop();
  });

  it("a provider that can be paid for serving answers 200, with the chain, its model, its stake and offer, and its store checked", async () => {
    const { status, body } = await health(provider.url);
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.failing).toEqual([]);
    expect(body.checks.chain).toMatchObject({ ok: true });
    expect(Number(body.checks.chain!.blockNumber)).toBeGreaterThan(0);
    expect(body.checks.model).toMatchObject({ ok: true, models: [{ name: net.model.name, modelId: String(net.modelId), engine: "llama.cpp" }] });
    expect(body.checks.registration).toMatchObject({ ok: true, offers: [String(net.modelId)] });
    expect(body.checks.store).toEqual({ ok: true });
  });

  it("a gateway answers 200, with the chain, its store and the offers checked", async () => {
    const { status, body } = await health(gateway.url);
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, failing: [], checks: { chain: { ok: true }, store: { ok: true }, offers: { ok: true, models: 1, offers: 2 } } });
  });

  it("a provider whose store cannot be written answers 503 naming the store, and a gateway sends it nothing", async () => {
    // While it is ready, the cheapest provider is the one served from.
    const before = await postChat(gateway.baseUrl, net.model.name, "hello", { max_tokens: 4 });
    expect(before.status).toBe(200);
    expect(before.headers.get("x-gotong-provider")).toBe(cheapest.address);

    cheapest.store.close();
    const { body } = await until503(cheapest.url, "the provider's /health to report its store");
    expect(body.failing).toEqual(["store"]);
    expect(body.checks.store).toMatchObject({ ok: false, error: expect.stringContaining("The store cannot be written") });
    expect(body.checks.chain!.ok).toBe(true);
    expect(body.error).toMatchObject({ code: "not_ready", message: expect.stringContaining("store") });

    // A gateway asks before it sends: the cheapest offer is skipped, and the request goes to the
    // ready provider, without a channel (a deposit) ever opened to the one that could not record it.
    const fresh = await net.gateway();
    const res = await postChat(fresh.baseUrl, net.model.name, "hello", { max_tokens: 4 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gotong-provider")).toBe(provider.address);
    expect(fresh.store.listChannels().map((c) => c.provider)).toEqual([provider.address]);
    // Not live while its /health says it is not ready (so /v1/models does not count it), though never tried.
    expect(fresh.router.isLive(cheapest.address)).toBe(false);
  });

  it("a gateway whose store cannot be written answers 503 naming the store", async () => {
    const other = await net.gateway();
    expect((await health(other.url)).status).toBe(200);
    other.store.close();
    const { body } = await until503(other.url, "the gateway's /health to report its store");
    expect(body.failing).toEqual(["store"]);
    expect(body.checks.chain!.ok).toBe(true);
    expect(body.checks.offers!.ok).toBe(true);
  });

  it("with the chain down, the provider and the gateway answer 503 naming the chain", async () => {
    await net.devnet.stop();
    const p = await until503(provider.url, "the provider's /health to report the chain");
    expect(p.body.failing).toContain("chain");
    expect(p.body.failing).toContain("registration"); // its stake and offer cannot be read either
    expect(p.body.checks.store!.ok).toBe(true);
    expect(p.body.checks.model!.ok).toBe(true);
    const g = await until503(gateway.url, "the gateway's /health to report the chain");
    expect(g.body.failing).toContain("chain");
    expect(g.body.checks.store!.ok).toBe(true);
  });
});
