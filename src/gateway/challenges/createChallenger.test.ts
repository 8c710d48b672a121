import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { createLogger } from "../../common/logger.ts";
import { computeCost } from "../../payments/price.ts";
import { encodeReceiptHeader, receiptToJson, signReceipt, type SignedReceipt } from "../../protocol/receipt.ts";
import { decodeVoucherHeader } from "../../protocol/voucher.ts";
import { HEADERS } from "../../protocol/wire.ts";
import { createChallenge, type Challenge } from "../../verification/challengePrompts.ts";
import { checkEvidence, decodeEvidence, hashEvidenceReceipt, sha256Of, type Evidence } from "../../verification/evidence.ts";
import { domain, fakeChannels, MODEL_ID, WEIGHTS } from "../../../test/helpers/fakeProviders.ts";
import { createGateway, type OwnRequest } from "../core/createGateway.ts";
import { createGatewayStore, type GatewayStore } from "../createGatewayStore.ts";
import { createRouter } from "../createRouter.ts";
import type { Offer } from "../discoverOffers.ts";
import { askValidators } from "./askValidator.ts";
import { createChallenger, type ChallengerOptions } from "./createChallenger.ts";
import type { ReportOutcome } from "./reportFraud.ts";

const silent = createLogger({ level: "silent" });
const PRICE = { pricePerMillionInput: 3_000_000_000n, pricePerMillionOutput: 7_000_000_000n };

/** A seeded uniform [0, 1) (mulberry32): the same draws on every run, so the bounds below are exact facts. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const offerFor = (provider: PrivateKeyAccount, endpoint = "http://127.0.0.1:1", modelId = MODEL_ID): Offer => ({
  provider: provider.address,
  endpoint,
  hpkePublicKey: `0x${"00".repeat(32)}`,
  stake: 1n,
  modelId,
  modelName: "m",
  weightsHash: WEIGHTS,
  royaltyBps: 0,
  price: PRICE,
  capabilities: ["chat"],
});

/** Pieces with multi-byte characters, split where a careless reader would mangle them. */
const PIECES = ["Once", " upon a tíme", ", 🌏", " ended", "."];

/**
 * An honest provider as the real one hashes: `requestHash` over the exact body bytes it received,
 * `responseHash` over the pieces it generated, in order. It remembers each body and text.
 */
async function startHonestProvider() {
  const account = privateKeyToAccount(generatePrivateKey());
  const served: { body: Buffer; text: string; receipt: SignedReceipt }[] = [];
  const server: Server = createServer((req, res) => void answer(req, res));
  async function answer(req: IncomingMessage, res: ServerResponse) {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = Buffer.concat(parts);
    if (req.method === "GET") return void res.writeHead(404).end();
    const parsed = JSON.parse(body.toString("utf8")) as { stream?: boolean };
    const chat = req.url === "/v1/chat/completions";
    const voucher = decodeVoucherHeader(String(req.headers[HEADERS.voucher]))!;
    const counts = { inputTokens: 6, outputTokens: PIECES.length };
    const cost = computeCost(PRICE, counts);
    const receipt = await signReceipt(account, domain, {
      requestId: req.headers[HEADERS.requestId] as Hex,
      channelId: voucher.channelId,
      weightsHash: WEIGHTS,
      inputTokens: BigInt(counts.inputTokens),
      outputTokens: BigInt(counts.outputTokens),
      cost,
      cumulativeOwed: voucher.cumulativeAmount + cost,
      requestHash: sha256Of(body),
      responseHash: sha256Of(PIECES.join("")),
    });
    served.push({ body, text: PIECES.join(""), receipt });
    if (parsed.stream) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const choice = (piece: string) => (chat ? { index: 0, delta: { content: piece } } : { index: 0, text: piece });
      PIECES.forEach((piece, i) => {
        const last = i === PIECES.length - 1;
        const gotong = last ? { outputTokens: i + 1, receipt: receiptToJson(receipt) } : { outputTokens: i + 1 };
        res.write(`data: ${JSON.stringify({ object: chat ? "chat.completion.chunk" : "text_completion", choices: [choice(piece)], gotong })}\n\n`);
      });
      return res.end("data: [DONE]\n\n");
    }
    const text = PIECES.join("");
    res.writeHead(200, { "content-type": "application/json", [HEADERS.receipt]: encodeReceiptHeader(receipt) });
    res.end(JSON.stringify(chat ? { object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }] } : { object: "text_completion", choices: [{ index: 0, text, finish_reason: "stop" }] }));
  }
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { account, server, served, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A validator that records the evidence JSON it was sent and answers `verdict`. */
async function startValidator(verdict: { fraud: boolean; reason: string }) {
  const received: unknown[] = [];
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const part of req) text += part;
    received.push(JSON.parse(text));
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...verdict, agreement: verdict.fraud ? 0.1 : 1 }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Options whose every step answers at once: the pacing tests need no network. */
function instantOptions(overrides: Partial<ChallengerOptions> & { sent?: Offer[] }): ChallengerOptions {
  const sent = overrides.sent ?? [];
  return {
    share: 0.02,
    challengeFor: (model) => createChallenge(model),
    send: async (offer) => {
      sent.push(offer);
      throw Object.assign(new Error("not sent in this test"), {});
    },
    hasValidators: async () => true,
    checkEvidence: async () => ({ ok: true }),
    validate: async () => ({ validator: "v", fraud: false, reason: "ok" }),
    caseIdOf: () => `0x${"00".repeat(32)}`,
    report: async () => {
      throw new Error("no report in this test");
    },
    logger: silent,
    schedule: (run) => {
      queueMicrotask(run);
      return () => {};
    },
    ...overrides,
  };
}

describe("createChallenger pacing", () => {
  const A = privateKeyToAccount(generatePrivateKey());
  const B = privateKeyToAccount(generatePrivateKey());

  it("follows real requests at the share asked for, over many requests, after delays spread over the window", async () => {
    const sent: Offer[] = [];
    const delays: number[] = [];
    const random = seeded(14);
    const challenger = createChallenger(
      instantOptions({
        share: 0.05,
        random,
        sent,
        maxDelayMs: 60_000,
        maxPendingPerOffer: 1_000_000,
        schedule: (run, ms) => {
          delays.push(ms);
          queueMicrotask(run);
          return () => {};
        },
      }),
    );
    const offer = offerFor(A);
    for (let i = 0; i < 10_000; i++) challenger.observe({ offer, model: "m", api: "chat" });
    await challenger.idle();
    // Binomial(10,000, 0.05): mean 500, standard deviation 21.8; four deviations either side.
    const { scheduled } = challenger.stats();
    expect(scheduled).toBeGreaterThanOrEqual(413);
    expect(scheduled).toBeLessThanOrEqual(587);
    expect(sent.length).toBe(scheduled);
    expect(delays.length).toBe(scheduled);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(60_000);
    // Spread, not bunched: each sixth of the window holds some.
    for (let s = 0; s < 6; s++) expect(delays.filter((d) => d >= s * 10_000 && d < (s + 1) * 10_000).length).toBeGreaterThan(40);
  });

  it("follows a provider's first requests at the newcomer share, the rest at the steady share, counted per provider and model", async () => {
    const sent: Offer[] = [];
    const challenger = createChallenger(instantOptions({ share: 0.01, newcomer: { share: 0.2, requests: 2_000 }, random: seeded(7), sent, maxPendingPerOffer: 1_000_000 }));
    const offer = offerFor(A);
    for (let i = 0; i < 2_000; i++) challenger.observe({ offer, model: "m", api: "chat" });
    await challenger.idle();
    // Binomial(2,000, 0.2): mean 400, standard deviation 17.9; four deviations either side.
    const early = challenger.stats().scheduled;
    expect(early).toBeGreaterThanOrEqual(329);
    expect(early).toBeLessThanOrEqual(471);
    for (let i = 0; i < 20_000; i++) challenger.observe({ offer, model: "m", api: "chat" });
    await challenger.idle();
    // Binomial(20,000, 0.01): mean 200, standard deviation 14.1.
    const steady = challenger.stats().scheduled - early;
    expect(steady).toBeGreaterThanOrEqual(144);
    expect(steady).toBeLessThanOrEqual(256);
    // Another provider is new to this gateway: its first requests are followed at the newcomer share again.
    for (let i = 0; i < 2_000; i++) challenger.observe({ offer: offerFor(B, "http://127.0.0.1:2"), model: "m", api: "chat" });
    await challenger.idle();
    const second = challenger.stats().scheduled - early - steady;
    expect(second).toBeGreaterThanOrEqual(329);
    expect(second).toBeLessThanOrEqual(471);
    // The newcomer share never lowers a higher steady share.
    const always = createChallenger(instantOptions({ share: 1, newcomer: { share: 0.05, requests: 10 }, sent: [], maxPendingPerOffer: 100 }));
    for (let i = 0; i < 5; i++) always.observe({ offer, model: "m", api: "chat" });
    await always.idle();
    expect(always.stats().scheduled).toBe(5);
    expect(() => createChallenger(instantOptions({ newcomer: { share: 2, requests: 1 } }))).toThrow("The newcomer challenge share must be within 0 and 1, not 2");
  });

  it("sends no challenge where there is no real traffic: none before any, only to the provider and model served, none for embeddings", async () => {
    const sent: Offer[] = [];
    const challenger = createChallenger(instantOptions({ share: 1, sent, maxPendingPerOffer: 100 }));
    await challenger.idle();
    expect(sent).toEqual([]);
    const onlyEmbeddings = offerFor(B, "http://127.0.0.1:2", 9n);
    for (let i = 0; i < 20; i++) challenger.observe({ offer: onlyEmbeddings, model: "e", api: "embeddings" });
    await challenger.idle();
    expect(sent).toEqual([]);
    const served = offerFor(A);
    for (let i = 0; i < 5; i++) challenger.observe({ offer: served, model: "m", api: "chat" });
    await challenger.idle();
    expect(sent.length).toBe(5);
    expect(sent.every((o) => o === served)).toBe(true);
  });

  it("sends nothing at a share of 0, and nothing while no validator can be asked (no money spent for nothing)", async () => {
    const sent: Offer[] = [];
    const off = createChallenger(instantOptions({ share: 0, sent }));
    for (let i = 0; i < 1_000; i++) off.observe({ offer: offerFor(A), model: "m", api: "chat" });
    await off.idle();
    expect(off.stats().scheduled).toBe(0);
    const noValidator = createChallenger(instantOptions({ share: 1, sent, hasValidators: async () => false }));
    for (let i = 0; i < 40; i++) noValidator.observe({ offer: offerFor(A), model: "m", api: "chat" });
    await noValidator.idle();
    expect(sent).toEqual([]);
    // 32 waiting at most (the default cap): the other 8 are not scheduled; the 32 find no validator.
    expect(noValidator.stats()).toMatchObject({ scheduled: 32, sent: 0, dropped: 40, spent: 0n });
  });

  it("bounds the challenges waiting per provider: a burst of traffic draws no burst of challenges", async () => {
    const cancels: number[] = [];
    const runs: (() => void)[] = [];
    const challenger = createChallenger(
      instantOptions({
        share: 1,
        maxPendingPerOffer: 2,
        schedule: (run) => {
          runs.push(run);
          return () => void cancels.push(1);
        },
      }),
    );
    for (let i = 0; i < 50; i++) challenger.observe({ offer: offerFor(A), model: "m", api: "chat" });
    for (let i = 0; i < 50; i++) challenger.observe({ offer: offerFor(B), model: "m", api: "chat" });
    expect(runs.length).toBe(4);
    expect(challenger.stats()).toMatchObject({ scheduled: 4, pending: 4, dropped: 96 });
    await challenger.stop();
    expect(cancels.length).toBe(4);
    expect(challenger.stats().pending).toBe(0);
  });

  it("refuses a share outside 0..1", () => {
    expect(() => createChallenger(instantOptions({ share: 1.5 }))).toThrow("The challenge share must be within 0 and 1, not 1.5");
    expect(() => createChallenger(instantOptions({ share: Number.NaN }))).toThrow(RangeError);
  });
});

describe("createChallenger through the gateway core", () => {
  let dir: string;
  let store: GatewayStore;
  let provider: Awaited<ReturnType<typeof startHonestProvider>>;
  let validator: Awaited<ReturnType<typeof startValidator>>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "gotong-challenger-"));
    store = createGatewayStore(join(dir, "gateway.sqlite"));
    provider = await startHonestProvider();
  });
  afterEach(() => {
    provider.server.close();
    validator?.server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A real core (router, lanes, receipt checks, store) paying through fake channels; the challenger on it. */
  function setUp(options: { verdict: { fraud: boolean; reason: string }; force?: (c: Challenge, n: number) => Challenge; report?: ChallengerOptions["report"] }) {
    const offer = offerFor(provider.account, provider.url);
    const router = createRouter({ loadOffers: async () => [offer] });
    const channels = fakeChannels(store);
    let forced = 0;
    const challengerOptions: ChallengerOptions = {
      share: 1,
      maxPendingPerOffer: 100,
      random: seeded(3),
      challengeFor: (model) => (options.force ? options.force(createChallenge(model), forced++) : createChallenge(model)),
      send: (o, request) => gateway.sendOwn(o, request),
      hasValidators: async () => true,
      checkEvidence: (e) => checkEvidence(e, domain),
      validate: (e, n) => askValidators([validator.url], e, n),
      caseIdOf: (e) => hashEvidenceReceipt(e, domain),
      report: options.report ?? (async () => ({ caseId: `0x${"00".repeat(32)}`, opened: false })),
      logger: silent,
      schedule: (run) => {
        setImmediate(run);
        return () => {};
      },
    };
    const challenger = createChallenger(challengerOptions);
    const gateway = createGateway({ router, channels, store, domain, logger: silent, seal: false, tokenDecimals: 6, onServed: challenger.observe });
    const spent = () => store.getChannel(channels.channelIdFor(provider.account.address, MODEL_ID))?.spent ?? 0n;
    return { gateway, challenger, offer, spent };
  }

  it("builds evidence byte for byte from what it sent and relayed, which checkEvidence accepts, and counts its cost as the gateway's own", async () => {
    validator = await startValidator({ fraud: false, reason: "ok" });
    // Alternate streamed and whole answers, chat and completions, whatever the draws say.
    const { gateway, challenger, spent } = setUp({
      verdict: { fraud: false, reason: "ok" },
      force: (c, n) => {
        const body: Record<string, unknown> = { ...c.body, stream: n % 2 === 0 };
        if (n % 2 === 0) delete body.stream_options;
        return { ...c, body };
      },
    });
    let told = 0n;
    for (let i = 0; i < 4; i++) {
      const answer = await gateway.complete({ api: i % 2 ? "completions" : "chat", body: { model: "m", ...(i % 2 ? { prompt: "Hi" } : { messages: [{ role: "user", content: "Hi" }] }), max_tokens: 16 } });
      if (answer.kind !== "answer") throw new Error("expected a whole answer");
      told += BigInt(answer.summary.cost);
    }
    await challenger.idle();
    const stats = challenger.stats();
    expect(stats).toMatchObject({ scheduled: 4, sent: 4, passed: 4, fraud: 0, reported: 0, dropped: 0 });
    // Four real requests and four challenges served; the validator saw the four challenges.
    expect(provider.served.length).toBe(8);
    expect(validator.received.length).toBe(4);
    // Real requests and challenges interleave at the provider; each piece of evidence names its request.
    const evidence = validator.received.map((json) => decodeEvidence(json));
    expect(new Set(evidence.map((e) => e.receipt.requestId)).size).toBe(4);
    // Two of them streamed (the text gathered from chunks), two whole.
    expect(evidence.filter((e) => (JSON.parse(Buffer.from(e.request).toString("utf8")) as { stream?: boolean }).stream === true).length).toBe(2);
    for (const e of evidence) {
      const s = provider.served.find((x) => x.receipt.requestId === e.receipt.requestId)!;
      expect(Buffer.from(e.request).equals(s.body)).toBe(true);
      expect(e.response).toBe(s.text);
      expect(e.receipt).toEqual(s.receipt);
      expect(e.provider).toBe(provider.account.address);
      expect(await checkEvidence(e, domain)).toEqual({ ok: true });
      const body = JSON.parse(s.body.toString("utf8")) as Record<string, unknown>;
      expect(body).toMatchObject({ model: "m", temperature: 0 });
    }
    // The money identity with challenges: what clients were told plus what challenges cost is the channel's spent.
    const each = computeCost(PRICE, { inputTokens: 6, outputTokens: PIECES.length });
    expect(told).toBe(4n * each);
    expect(stats.spent).toBe(4n * each);
    expect(spent()).toBe(told + stats.spent);
    expect(store.listReceipts(100).length).toBe(8);
  });

  it("reports a fraud verdict once: a second identical verdict, or another for the same provider, reports nothing more", async () => {
    validator = await startValidator({ fraud: true, reason: "different_output" });
    const reports: { evidence: Evidence; caseId: Hex }[] = [];
    const report = async (evidence: Evidence, caseId: Hex): Promise<ReportOutcome> => {
      reports.push({ evidence, caseId });
      await new Promise((r) => setTimeout(r, 20)); // a transaction takes a while: verdicts meanwhile must not report again
      return { caseId, opened: true, transactionHash: `0x${"ab".repeat(32)}`, bond: 5n };
    };
    const { gateway, challenger } = setUp({ verdict: { fraud: true, reason: "different_output" }, report });
    for (let i = 0; i < 3; i++) await gateway.complete({ api: "chat", body: { model: "m", messages: [{ role: "user", content: "Hi" }], max_tokens: 16 } });
    await challenger.idle();
    expect(challenger.stats()).toMatchObject({ sent: 3, fraud: 3, reported: 1 });
    expect(reports.length).toBe(1);
    expect(reports[0]!.caseId).toBe(hashEvidenceReceipt(reports[0]!.evidence, domain));
    expect(await checkEvidence(reports[0]!.evidence, domain)).toEqual({ ok: true });
  });
});

describe("createChallenger reporting", () => {
  const provider = privateKeyToAccount(generatePrivateKey());

  /** One canned challenge answer, the same every time: identical evidence, so identical verdicts. */
  async function canned(): Promise<OwnRequest> {
    const raw = Buffer.from('{"model":"m"}');
    const receipt = await signReceipt(provider, domain, {
      requestId: `0x${"01".repeat(32)}`,
      channelId: `0x${"02".repeat(32)}`,
      weightsHash: WEIGHTS,
      inputTokens: 3n,
      outputTokens: 2n,
      cost: 17n,
      cumulativeOwed: 17n,
      requestHash: sha256Of(raw),
      responseHash: sha256Of("Hi!"),
    });
    return {
      completion: { kind: "answer", body: { choices: [{ index: 0, message: { role: "assistant", content: "Hi!" } }] }, summary: { receiptId: receipt.requestId, cost: "17", inputTokens: 3, outputTokens: 2, provider: provider.address, modelId: "7", weightsHash: WEIGHTS }, provider: provider.address, requestId: receipt.requestId },
      receipt: () => receipt,
    };
  }

  function challengerWith(report: ChallengerOptions["report"], reason = "weights_mismatch") {
    return createChallenger(
      instantOptions({
        share: 1,
        maxPendingPerOffer: 10,
        challengeFor: () => ({ body: { model: "m" }, kind: "chat", path: "/v1/chat/completions" }),
        send: () => canned(),
        checkEvidence: (e) => checkEvidence(e, domain),
        validate: async () => ({ validator: "v", fraud: true, reason }),
        caseIdOf: (e) => hashEvidenceReceipt(e, domain),
        report,
      }),
    );
  }

  it("reports one case for two identical fraud verdicts, spending what both challenges cost", async () => {
    const reported: Hex[] = [];
    const challenger = challengerWith(async (_e, caseId) => {
      reported.push(caseId);
      return { caseId, opened: true, transactionHash: `0x${"ab".repeat(32)}`, bond: 5n };
    });
    challenger.observe({ offer: offerFor(provider), model: "m", api: "chat" });
    await challenger.idle();
    challenger.observe({ offer: offerFor(provider), model: "m", api: "chat" });
    await challenger.idle();
    expect(reported.length).toBe(1);
    expect(challenger.stats()).toMatchObject({ sent: 2, fraud: 2, reported: 1, spent: 34n });
  });

  it("tries again on a later verdict when the report did not reach the chain", async () => {
    let calls = 0;
    const challenger = challengerWith(async (_e, caseId) => {
      if (++calls === 1) throw new Error("the RPC is down");
      return { caseId, opened: true, transactionHash: `0x${"ab".repeat(32)}`, bond: 5n };
    });
    challenger.observe({ offer: offerFor(provider), model: "m", api: "chat" });
    await challenger.idle();
    expect(challenger.stats()).toMatchObject({ fraud: 1, reported: 0, dropped: 1 });
    challenger.observe({ offer: offerFor(provider), model: "m", api: "chat" });
    await challenger.idle();
    expect(calls).toBe(2);
    expect(challenger.stats()).toMatchObject({ fraud: 2, reported: 1 });
  });

  it("reports nothing when the evidence does not hash to the receipt, nor on a 'bad_evidence' verdict", async () => {
    let reports = 0;
    const mismatched = createChallenger(
      instantOptions({
        share: 1,
        challengeFor: () => ({ body: { model: "m" }, kind: "chat", path: "/v1/chat/completions" }),
        send: async () => {
          const own = await canned();
          return { ...own, completion: { ...(own.completion as Extract<OwnRequest["completion"], { kind: "answer" }>), body: { choices: [{ index: 0, message: { content: "Hi?" } }] } } };
        },
        checkEvidence: (e) => checkEvidence(e, domain),
        validate: async () => ({ validator: "v", fraud: true, reason: "different_output" }),
        report: async () => {
          reports++;
          return { caseId: `0x${"00".repeat(32)}`, opened: false };
        },
      }),
    );
    mismatched.observe({ offer: offerFor(provider), model: "m", api: "chat" });
    await mismatched.idle();
    expect(mismatched.stats()).toMatchObject({ sent: 1, fraud: 0, dropped: 1 });
    const bad = challengerWith(async () => {
      reports++;
      return { caseId: `0x${"00".repeat(32)}`, opened: false };
    }, "bad_evidence");
    bad.observe({ offer: offerFor(provider), model: "m", api: "chat" });
    await bad.idle();
    expect(bad.stats()).toMatchObject({ sent: 1, fraud: 0, dropped: 1 });
    expect(reports).toBe(0);
  });
});
