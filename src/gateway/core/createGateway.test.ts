import type { IncomingMessage } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isGotongError } from "../../common/errors.ts";
import { createLogger } from "../../common/logger.ts";
import { HEADERS, PROTOCOL_VERSION } from "../../protocol/wire.ts";
import { costOf, domain, fakeChannels, MODEL_ID, offerOf, startFakeProvider, type Behaviour, type FakeProvider } from "../../../test/helpers/fakeProviders.ts";
import { createGatewayStore, type GatewayStore } from "../createGatewayStore.ts";
import { createRouter, type Router } from "../createRouter.ts";
import { createGateway, ProviderRefusal, type ChatStreamEvent } from "./createGateway.ts";

// In-process tests of the core's failover and money: fake providers on 127.0.0.1 (no chain, no
// model), a real router and a real gateway store (see test/helpers/fakeProviders.ts).

const body = (extra: Record<string, unknown> = {}) => ({ model: "m", messages: [{ role: "user", content: "Hi" }], max_tokens: 8, ...extra });

describe("createGateway", () => {
  let dir: string;
  let store: GatewayStore;
  let providers: FakeProvider[];
  let router: Router;
  let channels: ReturnType<typeof fakeChannels>;

  /** Providers in price order: the router tries the cheapest first. */
  async function setUp(...behaviours: Behaviour[]) {
    providers = await Promise.all(behaviours.map((b, i) => startFakeProvider(b, BigInt(i + 1) * 1_000_000n)));
    router = createRouter({ loadOffers: async () => providers.map(offerOf) });
    channels = fakeChannels(store);
    return createGateway({ router, channels, store, domain, logger: createLogger({ level: "silent" }), seal: false, tokenDecimals: 6 });
  }

  const spentWith = (p: FakeProvider) => store.getChannel(channels.channelIdFor(p.account.address, MODEL_ID))?.spent ?? 0n;
  const cost = costOf;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gotong-core-"));
    store = createGatewayStore(join(dir, "gateway.sqlite"));
  });
  afterEach(async () => {
    for (const p of providers ?? []) p.server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails over past 5xx, 429 and 402 before any output, and pays only the provider that served, to the base unit", async () => {
    const gateway = await setUp("500", "429", "402", "json");
    const [p500, p429, p402, good] = providers as [FakeProvider, FakeProvider, FakeProvider, FakeProvider];
    const answer = await gateway.complete({ api: "chat", body: body() });
    expect(answer.kind).toBe("answer");
    if (answer.kind !== "answer") return;
    expect(answer.provider).toBe(good.account.address);
    expect(answer.summary.provider).toBe(good.account.address);
    expect(answer.body.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }]);
    expect([p500.hits, p429.hits, p402.hits, good.hits]).toEqual([1, 1, 1, 1]);
    // 5 input tokens at 4 base units each (4e6 per million) and 3 output at 8: 44.
    expect(cost(good)).toBe(44n);
    expect(answer.summary.cost).toBe("44");
    expect(spentWith(good)).toBe(44n);
    // The three that failed are cooled down, not excluded: nothing was paid to them, nothing is pending.
    for (const p of [p500, p429, p402]) {
      expect(router.isLive(p.account.address)).toBe(false);
      expect(router.isUntrusted(p.account.address)).toBe(false);
      expect(spentWith(p)).toBe(0n);
      expect(store.listPending(channels.channelIdFor(p.account.address, MODEL_ID))).toEqual([]);
    }
    expect(router.isLive(good.account.address)).toBe(true);
    // The next request goes to the provider that served first; the cooled-down ones are tried last.
    const again = await gateway.complete({ api: "chat", body: body() });
    expect(again.kind === "answer" && again.provider).toBe(good.account.address);
    expect([p500.hits, p429.hits, p402.hits, good.hits]).toEqual([1, 1, 1, 2]);
    expect(spentWith(good)).toBe(88n);
    expect(store.listReceipts().map((r) => r.receipt.cost)).toEqual([44n, 44n]);
  });

  it("bills costs above one base unit exactly, summing to what the channel has spent", async () => {
    // Three requests side by side on one channel (they take turns on its lane): 5 × 3,000 + 3 × 6,000 each.
    providers = [await startFakeProvider("json", 3_000_000_000n)];
    router = createRouter({ loadOffers: async () => providers.map(offerOf) });
    channels = fakeChannels(store);
    const gateway = createGateway({ router, channels, store, domain, logger: createLogger({ level: "silent" }), seal: false, tokenDecimals: 6 });
    const answers = await Promise.all([1, 2, 3].map(() => gateway.complete({ api: "chat", body: body() })));
    const costs = answers.map((a) => (a.kind === "answer" ? BigInt(a.summary.cost) : -1n));
    expect(costs).toEqual([33_000n, 33_000n, 33_000n]);
    expect(spentWith(providers[0]!)).toBe(99_000n);
  });

  it("streams after a failover: events as the provider sent them, the checked receipt last, its cost what was spent", async () => {
    const gateway = await setUp("500", "sse");
    const [failed, good] = providers as [FakeProvider, FakeProvider];
    const stream = await gateway.complete({ api: "chat", body: body({ stream: true }) });
    expect(stream.kind).toBe("stream");
    if (stream.kind !== "stream") return;
    expect(stream.provider).toBe(good.account.address);
    const events: ChatStreamEvent[] = [];
    for await (const event of stream.events) events.push(event);
    expect(events.map((e) => e.type)).toEqual(["chunks", "finished"]);
    const first = events[0] as Extract<ChatStreamEvent, { type: "chunks" }>;
    expect(first.chunks.map((c) => c.choices?.[0]?.delta?.content)).toEqual(["Hello"]);
    expect(first.raw.toString()).toContain('"content":"Hello"');
    const finished = events[1] as Extract<ChatStreamEvent, { type: "finished" }>;
    expect(finished.summary.receiptId).toBe(stream.requestId);
    expect(finished.chunk.gotong).toEqual(finished.summary);
    expect(BigInt(finished.summary.cost)).toBe(cost(good));
    expect(spentWith(good)).toBe(cost(good));
    expect(router.isLive(failed.account.address)).toBe(false);
  });

  it("reads and pays a stream to its end when the consumer stops early, and frees the channel after", async () => {
    const gateway = await setUp("sse");
    const [good] = providers as [FakeProvider];
    const stream = await gateway.complete({ api: "chat", body: body({ stream: true }) });
    if (stream.kind !== "stream") throw new Error("expected a stream");
    for await (const event of stream.events) {
      expect(event.type).toBe("chunks");
      break; // the rest (and the receipt) is read unseen
    }
    expect(spentWith(good)).toBe(cost(good));
    expect(store.listPending(channels.channelIdFor(good.account.address, MODEL_ID))).toEqual([]);
    // The channel's lane was released: the next request on it is served.
    const next = await gateway.complete({ api: "chat", body: body({ stream: true }) });
    if (next.kind !== "stream") throw new Error("expected a stream");
    for await (const _ of next.events);
    expect(spentWith(good)).toBe(2n * cost(good));
  });

  it("does not fail over when the request itself is refused: the provider's 400 comes back as it was, nothing paid", async () => {
    const gateway = await setUp("400", "json");
    const [refusing, good] = providers as [FakeProvider, FakeProvider];
    const error = await gateway.complete({ api: "chat", body: body() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRefusal);
    expect((error as ProviderRefusal).status).toBe(400);
    expect((error as ProviderRefusal).body).toEqual({ error: { message: "fake 400", type: "server_error", code: "invalid_parameter", param: null } });
    expect([refusing.hits, good.hits]).toEqual([1, 0]);
    expect(router.isLive(refusing.account.address)).toBe(true);
    expect(spentWith(refusing)).toBe(0n);
  });

  it("says no provider could serve, naming each one tried with its code and reason, when every one fails before output", async () => {
    const gateway = await setUp("500", "402");
    const [p500, p402] = providers as [FakeProvider, FakeProvider];
    const error = await gateway.complete({ api: "chat", body: body() }).catch((e: unknown) => e);
    expect(isGotongError(error, "no_provider_available")).toBe(true);
    expect((error as { status: number }).status).toBe(503);
    expect((error as { hint: string }).hint).toBe(
      `Tried ${p500.account.address} (provider_unavailable: The provider answered 500 (engine_failed): fake 500); ` +
        `${p402.account.address} (provider_unavailable: The provider answered 402 (payment_required): fake 402).`,
    );
    expect(isGotongError((error as Error).cause, "provider_unavailable")).toBe(true);
    expect(providers.map((p) => p.hits)).toEqual([1, 1]);
    expect(providers.map(spentWith)).toEqual([0n, 0n]);
  });

  it("gives up on a provider that keeps asking for the request again, after 9 tries, and serves from the next", async () => {
    const gateway = await setUp("epoch", "json");
    const [moving, good] = providers as [FakeProvider, FakeProvider];
    const answer = await gateway.complete({ api: "chat", body: body() });
    expect(answer.kind === "answer" && answer.provider).toBe(good.account.address);
    expect([moving.hits, good.hits]).toEqual([9, 1]);
    // Each refusal came before the provider ran anything: nothing is paid or pending there.
    expect(spentWith(moving)).toBe(0n);
    expect(store.listPending(channels.channelIdFor(moving.account.address, MODEL_ID))).toEqual([]);
    expect(spentWith(good)).toBe(cost(good));
  });

  it("names a provider that kept asking for the request again with its own code when none could serve", async () => {
    const gateway = await setUp("epoch");
    const error = await gateway.complete({ api: "chat", body: body() }).catch((e: unknown) => e);
    expect(isGotongError(error, "no_provider_available")).toBe(true);
    expect(isGotongError((error as Error).cause, "provider_retries_exhausted")).toBe(true);
    expect((error as { hint: string }).hint).toBe(
      `Tried ${providers[0]!.account.address} (provider_retries_exhausted: The provider asked for the request to be sent again 9 times (a busy channel, a channel closed or withdrawn behind our back, an unsettled balance)).`,
    );
  });

  it("refuses an overcharging receipt, pays nothing and excludes the provider for good", async () => {
    const gateway = await setUp("overcharge", "json");
    const [cheat, good] = providers as [FakeProvider, FakeProvider];
    const error = await gateway.complete({ api: "chat", body: body() }).catch((e: unknown) => e);
    expect(isGotongError(error, "receipt_overcharge")).toBe(true);
    expect(spentWith(cheat)).toBe(0n);
    expect(router.isUntrusted(cheat.account.address)).toBe(true);
    expect(store.refusedProviders()).toEqual([cheat.account.address]);
    // Excluded from then on: the next request goes straight to the honest provider.
    const answer = await gateway.complete({ api: "chat", body: body() });
    expect(answer.kind === "answer" && answer.provider).toBe(good.account.address);
    expect([cheat.hits, good.hits]).toEqual([1, 1]);
    expect(spentWith(good)).toBe(cost(good));
  });

  it("sends its protocol version, and treats a provider of another version like one that refused: the next one serves", async () => {
    const gateway = await setUp("version", "json");
    const [other, good] = providers as [FakeProvider, FakeProvider];
    const seen: unknown[] = [];
    good.server.prependListener("request", (req: IncomingMessage) => seen.push(req.headers[HEADERS.protocolVersion]));
    const answer = await gateway.complete({ api: "chat", body: body() });
    expect(answer.kind === "answer" && answer.provider).toBe(good.account.address);
    expect(seen).toEqual([String(PROTOCOL_VERSION)]);
    expect(router.isLive(other.account.address)).toBe(false);
    expect(spentWith(other)).toBe(0n);
    expect(spentWith(good)).toBe(cost(good));
  });

  it("names the protocol version mismatch when no provider speaks this gateway's version", async () => {
    const gateway = await setUp("version");
    const error = await gateway.complete({ api: "chat", body: body() }).catch((e: unknown) => e);
    expect(isGotongError(error, "protocol_version_mismatch")).toBe(true);
    expect((error as { status: number }).status).toBe(502);
    expect((error as Error).message).toContain(`version ${PROTOCOL_VERSION + 1}`);
  });

  it("gives up with `cancelled` when the caller aborts before any provider answered, sending nothing", async () => {
    const gateway = await setUp("json");
    const controller = new AbortController();
    controller.abort(new Error("caller left"));
    const error = await gateway.complete({ api: "chat", body: body() }, { signal: controller.signal }).catch((e: unknown) => e);
    expect(isGotongError(error, "cancelled")).toBe(true);
    expect(providers[0]!.hits).toBe(0);
  });
});
