import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address } from "viem";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { webAppRoutes } from "../../src/web/server/webAppRoutes.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

type ApiError = { status: number; code?: string | null; type?: string; headers?: Headers; error?: { message?: string } };

/** The error an SDK call was refused with. */
async function refusal(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error as unknown as ApiError;
    throw error;
  }
  throw new Error("expected the call to be refused");
}

describe("a gateway that serves others: API keys with budgets and rate limits (gotong gateway start --keys)", () => {
  let net: ChatNetwork;
  let gateway: RunningGateway;
  let keyless: RunningGateway;
  let providers: Address[];
  const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
  const clientWith = (apiKey: string) => new OpenAI({ baseURL: gateway.baseUrl, apiKey, maxRetries: 0 });
  const newKey = (budget: bigint, rpm = 1000) => gateway.store.apiKeys.create({ budget, periodSeconds: 86_400, rpm });
  /** One identical paid request (same prompt, same output at temperature 0), pinned to a provider. */
  const ask = (client: OpenAI, provider: Address) =>
    client.chat.completions
      .create({ model: net.model.name, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8, temperature: 0, provider: { only: [provider] } } as never)
      .withResponse();
  const startOwnGateway = async (requireKeys: boolean) => {
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    return startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: key, port: 0, requireKeys, extraRoutes: webAppRoutes, logger: quietLogger() });
  };

  beforeAll(async () => {
    net = await startChatNetwork();
    // Two providers of the model: two channels, so requests of one key are in flight at once.
    providers = [(await net.provider(net.model.path)).address, (await net.provider(net.model.path)).address];
    gateway = await startOwnGateway(true);
    keyless = await startOwnGateway(false);
  });
  afterAll(async () => {
    await gateway?.stop();
    await keyless?.stop();
    await net?.stop();
  });

  it("refuses a request without a key, or with a wrong one, with OpenAI's 401; /health stays open", async () => {
    const none = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "hi" }] }) });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: { message: expect.stringMatching(/didn't provide an API key/), type: "invalid_request_error", code: "missing_api_key", param: null, hint: expect.any(String) } });
    const models = await fetch(`${gateway.baseUrl}/models`);
    expect(models.status).toBe(401); // as OpenAI's /v1/models

    const wrong = await refusal(clientWith("gk-not-a-key-of-this-gateway").chat.completions.create({ model: net.model.name, messages: [{ role: "user", content: "hi" }] }));
    expect(wrong.status).toBe(401);
    expect(wrong.code).toBe("invalid_api_key");
    expect(wrong.type).toBe("invalid_request_error");
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(clientWith("gk-wrong").models.list()).rejects.toMatchObject({ status: 401, code: "invalid_api_key" });

    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    expect(gateway.store.listReceipts(10)).toEqual([]); // nothing was paid for
  });

  it("serves a good key, streamed and not, and records what each request cost against it", async () => {
    const { key, record } = newKey(10n * UNIT);
    const client = clientWith(key);
    expect((await client.models.list()).data.map((m) => m.id)).toContain(net.model.name);
    const { data: completion, response } = await ask(client, providers[0]!);
    expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0);
    const told = [BigInt(response.headers.get("x-gotong-cost")!)];
    const stream = await client.chat.completions.create({ model: net.model.name, messages: [{ role: "user", content: "Tell me a story" }], max_tokens: 8, stream: true });
    let last: { gotong?: { cost?: string } } | undefined;
    for await (const chunk of stream) last = chunk as never;
    told.push(BigInt(last!.gotong!.cost!));

    const receipts = gateway.store.listReceipts(100, record.id);
    expect(receipts.map((r) => r.receipt.cost).sort()).toEqual([...told].sort());
    expect(gateway.store.apiKeys.usage(record.id)).toMatchObject({ spent: sum(told), reserved: 0n, requests: 2 });
    // The receipts route shows a key its own receipts only.
    const listed = (await (await fetch(`${gateway.url}/gotong/receipts`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { receiptId: string }[] };
    expect(listed.data.map((r) => r.receiptId).sort()).toEqual(receipts.map((r) => r.receipt.requestId).sort());
  });

  it("refuses a key whose budget is spent with 429 insufficient_quota, while a second key still works", async () => {
    // What one request can cost at most here, as the gateway holds it: a key too small to hold it says.
    const probe = await refusal(ask(clientWith(newKey(1n).key), providers[0]!));
    expect(probe.status).toBe(429);
    expect(probe.code).toBe("insufficient_quota");
    const worst = BigInt(probe.headers!.get("x-gotong-request-max-cost")!);
    expect(worst).toBeGreaterThan(1n);

    // Room for the worst case once: the first request is served, the second no longer fits.
    const small = newKey(worst);
    const first = await ask(clientWith(small.key), providers[0]!);
    const cost = BigInt(first.response.headers.get("x-gotong-cost")!);
    expect(cost).toBeLessThanOrEqual(worst);
    const over = await refusal(ask(clientWith(small.key), providers[0]!));
    expect(over.status).toBe(429);
    expect(over).toBeInstanceOf(OpenAI.RateLimitError);
    expect(over.code).toBe("insufficient_quota");
    expect(over.type).toBe("insufficient_quota");
    expect(over.headers!.get("x-should-retry")).toBe("false");
    expect(over.headers!.get("x-gotong-budget")).toBe(worst.toString());
    expect(over.headers!.get("x-gotong-budget-spent")).toBe(cost.toString());
    const usage = gateway.store.apiKeys.usage(small.record.id)!;
    expect(over.headers!.get("x-gotong-budget-resets")).toBe(new Date(usage.periodEnd).toISOString());
    expect(Number(over.headers!.get("retry-after"))).toBeGreaterThan(86_000);
    expect((over as unknown as Error).message).toMatch(new RegExp(`budget of API key ${small.record.id}: .* spent this period, and this request may cost up to .* The budget resets at ${new Date(usage.periodEnd).toISOString()}`));
    expect(usage.spent).toBe(cost);

    const other = newKey(10n * UNIT);
    const served = await ask(clientWith(other.key), providers[0]!);
    expect(served.data.choices.length).toBe(1);
  });

  it("limits a key to its requests per minute: 429 rate_limit_exceeded with Retry-After", async () => {
    const { key } = newKey(10n * UNIT, 2);
    const client = clientWith(key);
    // Each request counts when it arrives, whatever becomes of it.
    for (let i = 0; i < 2; i++) await expect(client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 404 });
    const limited = await refusal(client.chat.completions.create({ model: net.model.name, messages: [{ role: "user", content: "hi" }], max_tokens: 4 }));
    expect(limited.status).toBe(429);
    expect(limited.code).toBe("rate_limit_exceeded");
    const wait = Number(limited.headers!.get("retry-after"));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
    // Listing models is not a paid request: not limited.
    expect((await client.models.list()).data.length).toBeGreaterThan(0);
  });

  it("refuses a revoked key with 401 from its next request on", async () => {
    const { key, record } = newKey(10n * UNIT);
    const client = clientWith(key);
    await ask(client, providers[1]!);
    gateway.store.apiKeys.revoke(record.id);
    const revoked = await refusal(ask(client, providers[1]!));
    expect(revoked.status).toBe(401);
    expect(revoked.code).toBe("invalid_api_key");
    expect(revoked.error?.message ?? (revoked as unknown as Error).message).toMatch(/revoked/);
  });

  it("never lets overlapping requests spend past a key's budget, to the base unit, and per-key usage adds up to the gateway's spend", async () => {
    const probe = await refusal(ask(clientWith(newKey(1n).key), providers[0]!));
    const worst = BigInt(probe.headers!.get("x-gotong-request-max-cost")!);
    const single = await ask(clientWith(newKey(10n * UNIT).key), providers[1]!);
    const each = BigInt(single.response.headers.get("x-gotong-cost")!);
    // Room for the worst case and two more: more requests overlap (two channels) than can fit.
    const budget = worst + 2n * each;
    const count = Math.min(24, Number(budget / each) + 4);
    expect(BigInt(count) * each).toBeGreaterThan(budget);
    const { key, record } = newKey(budget);
    const client = clientWith(key);
    const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => ask(client, providers[i % 2]!)));
    const served = results.flatMap((r) => (r.status === "fulfilled" ? [BigInt(r.value.response.headers.get("x-gotong-cost")!)] : []));
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as ApiError] : []));
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const error of refused) expect([error.status, error.code]).toEqual([429, "insufficient_quota"]);
    const usage = gateway.store.apiKeys.usage(record.id)!;
    expect(usage.reserved).toBe(0n);
    expect(usage.spent).toBe(sum(served));
    expect(usage.spent).toBeLessThanOrEqual(budget);
    expect(sum(gateway.store.listReceipts(1000, record.id).map((r) => r.receipt.cost))).toBe(usage.spent);

    // Every receipt this gateway paid for was paid for a key; their sums are the channels' spend.
    const keys = gateway.store.apiKeys.list();
    const allReceipts = gateway.store.listReceipts(100_000);
    expect(allReceipts.every((r) => r.keyId !== undefined)).toBe(true);
    const gatewaySpent = sum(gateway.store.listChannels().map((c) => c.spent));
    expect(sum(keys.map((k) => k.totalSpent))).toBe(gatewaySpent);
    expect(sum(allReceipts.map((r) => r.receipt.cost))).toBe(gatewaySpent);
  });

  it("answers CORS for browser apps of any origin only when keys are required; the keyless gateway keeps refusing them", async () => {
    const preflight = (base: string) =>
      fetch(`${base}/chat/completions`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
    const keyed = await preflight(gateway.baseUrl);
    expect(keyed.status).toBe(204);
    expect(keyed.headers.get("access-control-allow-origin")).toBe("*");
    expect(keyed.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(keyed.headers.get("access-control-allow-methods")).toMatch(/POST/);

    const { key } = newKey(10n * UNIT);
    const body = JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 4 });
    const fromPage = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", headers: { origin: "https://app.example", "content-type": "application/json", authorization: `Bearer ${key}` }, body });
    expect(fromPage.status).toBe(200);
    expect(fromPage.headers.get("access-control-allow-origin")).toBe("*");
    await fromPage.json();
    const unauthorized = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", headers: { origin: "https://app.example", "content-type": "application/json" }, body });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("access-control-allow-origin")).toBe("*"); // the page can read why
    // The web app's own routes (this gateway's account and channels) stay same-origin.
    const web = await fetch(`${gateway.url}/gotong/web/config`, { headers: { origin: "https://app.example" } });
    expect(web.headers.get("access-control-allow-origin")).toBeNull();
    await web.body?.cancel();

    const keylessPreflight = await preflight(keyless.baseUrl);
    expect(keylessPreflight.status).not.toBe(204);
    expect(keylessPreflight.headers.get("access-control-allow-origin")).toBeNull();
    const foreign = await fetch(`${keyless.baseUrl}/chat/completions`, { method: "POST", headers: { origin: "https://app.example", "content-type": "application/json" }, body });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe("cross_origin_refused");
    // And it needs no key from a local program, exactly as before.
    const local = await fetch(`${keyless.baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(local.status).toBe(200);
    expect(local.headers.get("access-control-allow-origin")).toBeNull();
    await local.json();
  });
});
