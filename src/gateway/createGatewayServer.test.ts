import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../common/logger.ts";
import { HEADERS } from "../protocol/wire.ts";
import { costOf, domain, fakeChannels, MODEL_ID, offerOf, startFakeProvider, type Behaviour, type FakeProvider } from "../../test/helpers/fakeProviders.ts";
import { createGatewayServer } from "./createGatewayServer.ts";
import { createGatewayStore, type GatewayStore } from "./createGatewayStore.ts";
import { createRouter } from "./createRouter.ts";

// The HTTP adapter in-process, over the real core and fake providers (no chain, no model): routes
// map to the core's operations, answers and streams keep their OpenAI shape and Gotong's headers,
// and errors become statuses and OpenAI error bodies.

describe("createGatewayServer", () => {
  let dir: string;
  let store: GatewayStore;
  let providers: FakeProvider[] = [];
  let server: Server | undefined;
  let channels: ReturnType<typeof fakeChannels>;

  async function start(...behaviours: Behaviour[]): Promise<string> {
    providers = await Promise.all(behaviours.map((b, i) => startFakeProvider(b, BigInt(i + 1) * 1_000_000n)));
    const router = createRouter({ loadOffers: async () => providers.map(offerOf) });
    channels = fakeChannels(store);
    server = createGatewayServer({ router, channels, store, domain, logger: createLogger({ level: "silent" }), seal: false, tokenDecimals: 6 });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const chat = (extra: Record<string, unknown> = {}) => ({ model: "m", messages: [{ role: "user", content: "Hi" }], max_tokens: 8, ...extra });
  const spentWith = (p: FakeProvider) => store.getChannel(channels.channelIdFor(p.account.address, MODEL_ID))?.spent ?? 0n;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gotong-http-"));
    store = createGatewayStore(join(dir, "gateway.sqlite"));
  });
  afterEach(() => {
    server?.close();
    for (const p of providers) p.server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers a chat completion with the core's summary in its body and Gotong's headers", async () => {
    const base = await start("500", "json");
    const good = providers[1]!;
    const res = await post(`${base}/v1/chat/completions`, chat());
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: unknown[]; gotong: { cost: string; receiptId: string } };
    expect(body.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }]);
    expect(res.headers.get(HEADERS.provider)).toBe(good.account.address);
    expect(res.headers.get(HEADERS.cost)).toBe(costOf(good).toString());
    expect(res.headers.get(HEADERS.inputTokens)).toBe("5");
    expect(res.headers.get(HEADERS.outputTokens)).toBe("3");
    expect(res.headers.get(HEADERS.receiptId)).toBe(body.gotong.receiptId);
    expect(BigInt(body.gotong.cost)).toBe(spentWith(good));
  });

  it("streams the provider's events, the checked summary in the final one, then [DONE]", async () => {
    const base = await start("sse");
    const good = providers[0]!;
    const res = await post(`${base}/v1/chat/completions`, chat({ stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get(HEADERS.provider)).toBe(good.account.address);
    const text = await res.text();
    const data = text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
    expect(data.at(-1)).toBe("[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: { delta: { content: string } }[]; gotong: { cost?: string; receipt?: unknown } });
    expect(chunks.map((c) => c.choices[0]!.delta.content)).toEqual(["Hello", "!"]);
    expect(chunks[1]!.gotong.receipt).toBeUndefined(); // rewritten into the summary
    expect(chunks[1]!.gotong.cost).toBe(costOf(good).toString());
    expect(spentWith(good)).toBe(costOf(good));
  });

  it("answers POST /v1/responses in the Responses API's shape, paid like the chat it is underneath", async () => {
    const base = await start("json");
    const res = await post(`${base}/v1/responses`, { model: "m", input: "Hi", max_output_tokens: 8 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; output: { content: { text: string }[] }[] };
    expect(body.object).toBe("response");
    expect(body.output[0]!.content[0]!.text).toBe("Hello!");
    expect(res.headers.get(HEADERS.cost)).toBe(costOf(providers[0]!).toString());
  });

  it("passes a provider's refusal of the request on as it came, without trying another provider", async () => {
    const base = await start("400", "json");
    const res = await post(`${base}/v1/chat/completions`, chat());
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { message: "fake 400", type: "server_error", code: "invalid_parameter", param: null } });
    expect(providers.map((p) => p.hits)).toEqual([1, 0]);
  });

  it("maps the core's errors to statuses and OpenAI error bodies", async () => {
    const base = await start("500");
    const failed = await post(`${base}/v1/chat/completions`, chat());
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { error: { code: string } }).error.code).toBe("no_provider_available");
    const noModel = await post(`${base}/v1/chat/completions`, { messages: [] });
    expect(noModel.status).toBe(400);
    expect(((await noModel.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: "invalid_parameter", param: "model" });
    const wrongMethod = await fetch(`${base}/v1/chat/completions`);
    expect(wrongMethod.status).toBe(405);
    const unknown = await fetch(`${base}/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const stored = await fetch(`${base}/v1/responses/resp_1`);
    expect(stored.status).toBe(404);
    expect(((await stored.json()) as { error: { code: string } }).error.code).toBe("response_not_found");
    const unprepared = await fetch(`${base}/gotong/relay/0x${"00".repeat(32)}`, { method: "POST", body: "x" });
    expect(unprepared.status).toBe(404);
    expect(((await unprepared.json()) as { error: { code: string } }).error.code).toBe("relay_not_prepared");
    expect(spentWith(providers[0]!)).toBe(0n);
  });

  it("lists the models on offer and serves /health", async () => {
    const base = await start("json");
    const models = (await (await fetch(`${base}/v1/models`)).json()) as { object: string; data: { id: string; gotong: { providers: number; pricePerMillionInput: string } }[] };
    expect(models.object).toBe("list");
    expect(models.data.map((m) => [m.id, m.gotong.providers, m.gotong.pricePerMillionInput])).toEqual([["m", 1, "1000000"]]);
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true });
  });
});
