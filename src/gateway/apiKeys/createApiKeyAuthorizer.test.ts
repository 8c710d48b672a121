import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import { isGotongError, type GotongError } from "../../common/errors.ts";
import { toErrorResponse } from "../../common/http.ts";
import type { SignedReceipt } from "../../protocol/receipt.ts";
import { HEADERS } from "../../protocol/wire.ts";
import { createGatewayStore } from "../createGatewayStore.ts";
import { createApiKeyAuthorizer } from "./createApiKeyAuthorizer.ts";
import { keyPeriod } from "./keyPeriod.ts";
import { keyUseOf } from "./keyUseOf.ts";

const id = () => `0x${randomBytes(32).toString("hex")}` as Hex;
const provider = "0x00000000000000000000000000000000000000aa" as Address;
const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), "gotong-apikeys-"));
  dirs.push(dir);
  return join(dir, "gateway.db");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const request = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
const receipt = (requestId: Hex, channelId: Hex, cost: bigint): SignedReceipt => ({
  requestId, channelId, weightsHash: id(), inputTokens: 1n, outputTokens: 1n, cost, cumulativeOwed: cost, requestHash: id(), responseHash: id(), signature: `0x${"11".repeat(65)}`,
});
/** The error `fn` throws, as the HTTP layer would send it. */
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (!isGotongError(error)) throw error;
    return { error: error as GotongError, ...toErrorResponse(error) };
  }
  throw new Error("expected a refusal");
};
const DAY = 86_400;

describe("API keys: who may call", () => {
  it("answers a missing, malformed, wrong or revoked key with OpenAI's 401, and a good one with its key", () => {
    const path = tempDb();
    const store = createGatewayStore(path);
    const { key, record } = store.apiKeys.create({ name: "alice", budget: 1_000n, periodSeconds: DAY, rpm: 10 });
    expect(key).toMatch(/^gk-[A-Za-z0-9_-]{43}$/);
    const keys = createApiKeyAuthorizer(store.apiKeys);

    const missing = refusal(() => keys.authorize(request(), { spends: true }));
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: { message: expect.stringMatching(/didn't provide an API key/), type: "invalid_request_error", code: "missing_api_key", param: null, hint: expect.any(String) } });
    const wrong = refusal(() => keys.authorize(request(`Bearer gk-${"x".repeat(43)}`), { spends: true }));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key", param: null });
    expect(wrong.body.error.message).not.toContain("x".repeat(20)); // the key given is masked
    expect(refusal(() => keys.authorize(request(`Basic ${key}`), { spends: true })).body.error.code).toBe("invalid_api_key");
    expect(refusal(() => keys.authorize(request(`Bearer ${key.slice(0, -1)}`), { spends: true })).body.error.code).toBe("invalid_api_key");

    expect(keys.authorize(request(`Bearer ${key}`), { spends: true })).toEqual({ id: record.id, name: "alice" });
    expect(keys.authorize(request(`bearer  ${key} `), { spends: false }).id).toBe(record.id);

    // The store keeps no key: only its hash.
    const reader = new Database(path, { readonly: true });
    const row = reader.prepare("SELECT * FROM api_keys").get() as Record<string, unknown>;
    reader.close();
    expect(JSON.stringify(row)).not.toContain(key.slice(3));
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);

    store.apiKeys.revoke(record.id);
    const revoked = refusal(() => keys.authorize(request(`Bearer ${key}`), { spends: true }));
    expect(revoked.status).toBe(401);
    expect(revoked.body.error).toMatchObject({ code: "invalid_api_key", type: "invalid_request_error", message: expect.stringContaining("revoked") });
    store.close();
  });

  it("sees a key created or revoked through another connection (the CLI) at once", () => {
    const path = tempDb();
    const gateway = createGatewayStore(path);
    const keys = createApiKeyAuthorizer(gateway.apiKeys);
    const cli = createGatewayStore(path);
    const { key, record } = cli.apiKeys.create({ budget: 5n, periodSeconds: DAY, rpm: 5 });
    expect(record.name).toBe(record.id);
    expect(keys.authorize(request(`Bearer ${key}`), { spends: false }).id).toBe(record.id);
    cli.apiKeys.revoke(record.id);
    expect(refusal(() => keys.authorize(request(`Bearer ${key}`), { spends: false })).body.error.code).toBe("invalid_api_key");
    cli.close();
    gateway.close();
  });

  it("refuses keys it could not honour", () => {
    const store = createGatewayStore(tempDb());
    expect(() => store.apiKeys.create({ budget: 0n, periodSeconds: DAY, rpm: 1 })).toThrow(/--budget must be more than zero/);
    expect(() => store.apiKeys.create({ budget: 1n, periodSeconds: 30, rpm: 1 })).toThrow(/--period must be at least a minute/);
    expect(() => store.apiKeys.create({ budget: 1n, periodSeconds: DAY, rpm: 0 })).toThrow(/--rpm must be at least 1/);
    expect(() => store.apiKeys.revoke("key_0000000000000000")).toThrow(/No API key key_0000000000000000/);
    store.close();
  });

  it("needs a key on every /v1/ route and the relay, counts only spending ones, and leaves health and offers open", () => {
    expect(keyUseOf("POST", "/v1/chat/completions")).toEqual({ spends: true });
    expect(keyUseOf("POST", "/v1/completions")).toEqual({ spends: true });
    expect(keyUseOf("POST", "/v1/responses")).toEqual({ spends: true });
    expect(keyUseOf("POST", "/v1/embeddings")).toEqual({ spends: true });
    expect(keyUseOf("POST", `/gotong/relay/${id()}`)).toEqual({ spends: true });
    expect(keyUseOf("GET", "/v1/models")).toEqual({ spends: false });
    expect(keyUseOf("GET", "/v1/models/x")).toEqual({ spends: false });
    expect(keyUseOf("POST", "/gotong/relay/prepare")).toEqual({ spends: false });
    expect(keyUseOf("GET", "/gotong/receipts")).toEqual({ spends: false });
    expect(keyUseOf("GET", "/health")).toBeUndefined();
    expect(keyUseOf("GET", "/gotong/offers")).toBeUndefined();
    expect(keyUseOf("GET", "/")).toBeUndefined();
  });
});

describe("API keys: how often", () => {
  it("allows N requests per rolling minute, then 429 rate_limit_exceeded with the wait in Retry-After", () => {
    const store = createGatewayStore(tempDb());
    const { key } = store.apiKeys.create({ budget: 1_000n, periodSeconds: DAY, rpm: 3 });
    let now = 1_000_000;
    const keys = createApiKeyAuthorizer(store.apiKeys, { now: () => now });
    const call = (spends = true) => keys.authorize(request(`Bearer ${key}`), { spends });
    call();
    now += 10_000;
    call();
    call();
    call(false); // not a spending request: not counted
    now += 5_000; // 15 s after the first
    const limited = refusal(() => call());
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: "rate_limit_exceeded", param: null });
    expect(limited.headers["retry-after"]).toBe("45"); // the first leaves the window at 60 s
    now += 44_000;
    expect(refusal(() => call()).headers["retry-after"]).toBe("1");
    now += 1_000; // exactly a minute after the first: it has left the window
    call();
    expect(refusal(() => call()).headers["retry-after"]).toBe("10"); // the next to leave came at 10 s
    store.close();
  });
});

describe("API keys: how much", () => {
  const setup = (budget = 1_000n, options: { now?: () => number } = {}) => {
    const path = tempDb();
    const store = createGatewayStore(path);
    const channelId = id();
    store.putChannel({ channelId, provider, modelId: 1n, epoch: 0n, deposit: 1_000_000n, spent: 0n });
    const created = store.apiKeys.create({ name: "k", budget, periodSeconds: DAY, rpm: 100 }, options.now?.() ?? Date.now());
    const keys = createApiKeyAuthorizer(store.apiKeys, { ...options, formatAmount: (u) => `${u} u` });
    const key = { id: created.record.id, name: "k" };
    /** What a request sent through the gateway does to the store: a hold, a pending row, a receipt. */
    const send = (maxCost: bigint) => {
      const requestId = id();
      keys.reserve(key, requestId, maxCost);
      store.putPending({ requestId, channelId, epoch: 0n, observedOutputTokens: 0n, maxInputTokens: 1n, maxOutputTokens: 1n });
      return requestId;
    };
    const pay = (requestId: Hex, cost: bigint) => store.addReceipt({ receipt: receipt(requestId, channelId, cost), provider, modelId: 1n, modelName: "m" }, 0n);
    return { path, store, keys, key, channelId, send, pay };
  };

  it("holds each request's worst case, so overlapping requests never spend past the budget, and settles to the receipt", async () => {
    const { store, key, channelId, send, pay } = setup(1_000n);
    // 40 overlapping requests, each holding up to 70: at most 14 fit at once (980 <= 1000 < 1050).
    const sent: Hex[] = [];
    const refused: GotongError[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        await new Promise((r) => setImmediate(r));
        try {
          sent.push(send(70n));
        } catch (error) {
          refused.push(error as GotongError);
        }
      }),
    );
    expect(sent).toHaveLength(14);
    expect(refused).toHaveLength(26);
    expect(refused[0]!.code).toBe("insufficient_quota");
    expect(refused[0]!.status).toBe(429);
    expect(store.apiKeys.usage(key.id)).toMatchObject({ spent: 0n, reserved: 980n });
    // Each settles at less than its worst case (or is dropped unpaid): the holds become the costs.
    const costs = sent.map((_, i) => BigInt(i * 5 + 1));
    sent.forEach((requestId, i) => {
      if (i === 0) store.deletePending(requestId); // never served: released
      else pay(requestId, costs[i]!);
    });
    const spent = costs.slice(1).reduce((a, b) => a + b, 0n);
    expect(store.apiKeys.usage(key.id)).toMatchObject({ spent, reserved: 0n, requests: 13, totalSpent: spent });
    // The key's usage is exactly what its receipts cost, and what the channel spent.
    const receipts = store.listReceipts(100, key.id);
    expect(receipts).toHaveLength(13);
    expect(receipts.every((r) => r.keyId === key.id)).toBe(true);
    expect(receipts.reduce((a, r) => a + r.receipt.cost, 0n)).toBe(spent);
    expect(store.getChannel(channelId)!.spent).toBe(spent);
    // Accepting a receipt again charges nothing more.
    pay(sent[1]!, costs[1]!);
    expect(store.apiKeys.usage(key.id)!.spent).toBe(spent);
    // What is left fits exactly, and not one base unit more.
    const left = 1_000n - spent;
    expect(() => send(left + 1n)).toThrow(/exceeded the budget/);
    pay(send(left), left);
    expect(store.apiKeys.usage(key.id)!.spent).toBe(1_000n);
    expect(() => send(1n)).toThrow(/exceeded the budget/);
    store.close();
  });

  it("holds across two connections to the store, as a second process would", () => {
    const { path, store, key } = setup(100n);
    const other = createGatewayStore(path);
    const otherKeys = createApiKeyAuthorizer(other.apiKeys);
    const results: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const keys = i % 2 ? otherKeys : createApiKeyAuthorizer(store.apiKeys);
      try {
        keys.reserve(key, id(), 30n);
        results.push(true);
      } catch {
        results.push(false);
      }
    }
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(other.apiKeys.usage(key.id)!.reserved).toBe(90n);
    other.close();
    store.close();
  });

  it("names the budget, the spent amount and the reset in its 429, and is whole again in the next period", () => {
    const created = 1_700_000_000_000;
    let now = created;
    const { store, key, send, pay } = setup(100n, { now: () => now });
    now += 3_600_000; // an hour into the first day
    pay(send(60n), 60n);
    send(30n); // in flight
    const over = refusal(() => send(20n));
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: "insufficient_quota", type: "insufficient_quota", param: null });
    const resets = new Date(created + DAY * 1000).toISOString();
    expect(over.body.error.message).toBe(
      `You exceeded the budget of API key ${key.id}: 60 u of 100 u spent this period (and 30 u held by requests in flight), and this request may cost up to 20 u. The budget resets at ${resets} (in 23h)`,
    );
    expect(over.headers).toMatchObject({ "retry-after": String(23 * 3600), "x-should-retry": "false", [HEADERS.budget]: "100", [HEADERS.budgetSpent]: "60", [HEADERS.budgetResets]: resets });
    now = created + DAY * 1000; // the next period
    // The hold still in flight belongs to the period it was made in.
    expect(store.apiKeys.usage(key.id, now)).toMatchObject({ spent: 0n, reserved: 0n, totalSpent: 60n, periodStart: now });
    pay(send(100n), 100n);
    expect(store.apiKeys.usage(key.id, now)).toMatchObject({ spent: 100n, totalSpent: 160n });
    store.close();
  });

  it("keeps a cut request's hold across a restart, and charges its receipt to its own key whenever it settles", () => {
    const { path, store, key, channelId, send } = setup(100n);
    const cut = send(80n); // its stream was cut: the pending row and the hold stay
    store.close();
    const again = createGatewayStore(path);
    expect(again.apiKeys.usage(key.id)).toMatchObject({ spent: 0n, reserved: 80n });
    // Settled later, while another key's request holds the channel: still charged to the first key.
    const other = again.apiKeys.create({ budget: 100n, periodSeconds: DAY, rpm: 1 }).record;
    createApiKeyAuthorizer(again.apiKeys).reserve({ id: other.id, name: other.name }, id(), 50n);
    again.addReceipt({ receipt: receipt(cut, channelId, 12n), provider, modelId: 1n, modelName: "m" }, 0n);
    expect(again.apiKeys.usage(key.id)).toMatchObject({ spent: 12n, reserved: 0n });
    expect(again.apiKeys.usage(other.id)).toMatchObject({ spent: 0n, reserved: 50n });
    expect(again.listReceipts(10, key.id).map((r) => r.receipt.requestId)).toEqual([cut]);
    again.close();
  });

  it("refuses to hold for a key revoked while its client was sending", () => {
    const { store, keys, key } = setup();
    store.apiKeys.revoke(key.id);
    expect(refusal(() => keys.reserve(key, id(), 1n)).body.error.code).toBe("invalid_api_key");
    store.close();
  });

  it("counts budget periods from each key's creation", () => {
    expect(keyPeriod(1_000, 60, 1_000)).toEqual({ start: 1_000, end: 61_000 });
    expect(keyPeriod(1_000, 60, 60_999)).toEqual({ start: 1_000, end: 61_000 });
    expect(keyPeriod(1_000, 60, 61_000)).toEqual({ start: 61_000, end: 121_000 });
  });

  it("opens a store written before keys existed, and its old receipts have no key", () => {
    const path = tempDb();
    const old = new Database(path);
    old.exec(`CREATE TABLE receipts (request_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, provider TEXT NOT NULL, model_id TEXT NOT NULL,
      model_name TEXT NOT NULL, cost TEXT NOT NULL, receipt TEXT NOT NULL, created_at INTEGER NOT NULL);`);
    old.close();
    const store = createGatewayStore(path);
    const channelId = id();
    store.putChannel({ channelId, provider, modelId: 1n, epoch: 0n, deposit: 100n, spent: 0n });
    store.addReceipt({ receipt: receipt(id(), channelId, 7n), provider, modelId: 1n, modelName: "m" }, 0n);
    expect(store.listReceipts(10)[0]!.keyId).toBeUndefined();
    expect(store.listReceipts(10, "key_0000000000000000")).toEqual([]);
    store.close();
  });
});
