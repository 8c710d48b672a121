import { createServer, request as httpRequest, type Server } from "node:http";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEventLog, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { encodeVoucherHeader } from "../../src/protocol/voucher.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";
import { advanceTime } from "../helpers/advanceTime.ts";

/**
 * The money identity under overlapping, cut, replayed and hostile traffic: the costs the gateway
 * tells its clients add up to its `spent`, which is the provider's `owed`, which is what the
 * provider redeems on-chain, which splits exactly into royalty + protocol fee + provider share.
 */

type Answer = { status: number; cost?: bigint; retryAfter?: string | null; code?: string };

/** One chat request through a gateway, streamed or not; the cost is the one the client is told. */
async function ask(baseUrl: string, model: string, stream: boolean, maxTokens = 12): Promise<Answer> {
  const res = await postChat(baseUrl, model, `Once upon a time ${randomBytes(3).toString("hex")}`, { max_tokens: maxTokens, stream });
  if (res.status !== 200) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
    return { status: res.status, retryAfter: res.headers.get("retry-after"), code: body.error?.code };
  }
  if (!stream) return { status: 200, cost: BigInt(res.headers.get("x-gotong-cost")!) };
  const text = await res.text();
  let cost: bigint | undefined;
  for (const event of text.split("\n\n")) {
    if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
    const chunk = JSON.parse(event.slice(6)) as { gotong?: { cost?: string }; error?: { code?: string } };
    if (chunk.error) return { status: 502, code: chunk.error.code };
    if (chunk.gotong?.cost !== undefined) cost = BigInt(chunk.gotong.cost);
  }
  return { status: 200, cost };
}

const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);

describe("the money identity under concurrency and attack", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  const pc = () => ({ address: net.devnet.deployment.paymentChannels, abi: PaymentChannelsArtifact.abi }) as const;

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
  });
  afterAll(() => net?.stop());

  /**
   * Settles, redeems and checks every link of the identity for one gateway's channels, to the base
   * unit. `told` is what its clients were told they paid.
   */
  async function expectIdentity(gateway: RunningGateway, told: bigint[]) {
    await gateway.settle();
    const channels = gateway.store.listChannels().filter((c) => c.provider === provider.address);
    const spent = sum(channels.map((c) => c.spent));
    const owed = sum(channels.map((c) => provider.store.getChannel(c.channelId, c.epoch).owed));
    expect(sum(told)).toBe(spent);
    expect(owed).toBe(spent);
    const result = await provider.redeemer.redeemNow();
    const redeemed = sum(await Promise.all(channels.map(async (c) => (await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, c.channelId)).redeemed)));
    expect(redeemed).toBe(spent);
    if (result.transactionHash) {
      const receipt = await net.creator.public.getTransactionReceipt({ hash: result.transactionHash });
      const ids = new Set(channels.map((c) => c.channelId.toLowerCase()));
      const split = receipt.logs
        .filter((l) => l.address.toLowerCase() === net.devnet.deployment.paymentChannels.toLowerCase())
        .map((l) => decodeEventLog({ abi: PaymentChannelsArtifact.abi, data: l.data, topics: l.topics }))
        .filter((e) => e.eventName === "VoucherRedeemed" && ids.has((e.args as { channelId: Hex }).channelId.toLowerCase()))
        .map((e) => e.args as unknown as { amount: bigint; providerShare: bigint; royalty: bigint; fee: bigint });
      // This gateway's channels started at zero, so what their events paid is all they redeemed.
      expect(sum(split.map((e) => e.amount))).toBe(redeemed);
      expect(sum(split.map((e) => e.royalty + e.fee + e.providerShare))).toBe(redeemed);
    }
    return { spent, owed, redeemed };
  }

  it("30 overlapping requests on one channel, streamed and not: every amount agrees to the base unit", async () => {
    const gateway = await net.gateway();
    for (const n of [12, 30]) {
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => ask(gateway.baseUrl, net.model.name, i % 2 === 0)));
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
      const told = answers.map((a) => a.cost!);
      expect(told.every((c) => c > 0n)).toBe(true);
      // The gateway never pays for a receipt twice: one receipt per request, spent = their sum.
      expect(gateway.store.listReceipts(1000)).toHaveLength(n === 12 ? 12 : 42);
      if (n === 30) {
        const all = gateway.store.listReceipts(1000).map((r) => r.receipt.cost);
        await expectIdentity(gateway, all);
      }
    }
  });

  it("with 3 channels per provider, overlapping requests run 3 at a time on 3 channels, opened only when the others are busy, and every amount agrees", async () => {
    const gateway = await net.gateway({ channelsPerProvider: 3 });
    const mine = () => gateway.store.listChannels().filter((c) => c.provider === provider.address);
    const first = await ask(gateway.baseUrl, net.model.name, false);
    expect(first.status).toBe(200);
    expect(mine(), "one request: one channel").toHaveLength(1);
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => ask(gateway.baseUrl, net.model.name, i % 2 === 0)));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const channels = mine();
    expect(channels, "every lane was needed, and no more were opened").toHaveLength(3);
    expect(new Set(channels.map((c) => c.salt))).toEqual(new Set([0n, 1n, 2n]));
    expect(channels.every((c) => c.spent > 0n), "each carried requests").toBe(true);
    // One at a time again: back on an idle open channel, nothing new opened.
    const later: Answer[] = [];
    for (let i = 0; i < 3; i++) later.push(await ask(gateway.baseUrl, net.model.name, true));
    expect(later.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(mine()).toHaveLength(3);
    const told = [first, ...answers, ...later].map((a) => a.cost!);
    expect(gateway.store.listReceipts(1000), "one receipt per request").toHaveLength(28);
    await expectIdentity(gateway, told);
  });

  it("serves one unpaid request per channel: 16 copies of one voucher get one answer, the rest a fast 429", async () => {
    const gateway = await net.gateway();
    expect((await ask(gateway.baseUrl, net.model.name, false)).status).toBe(200); // opens the channel
    const channel = gateway.store.listChannels()[0]!;
    const voucher = encodeVoucherHeader(await gateway.channels.voucherFor(channel));
    const direct = () =>
      fetch(`${provider.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-gotong-voucher": voucher, "x-gotong-request-id": `0x${randomBytes(32).toString("hex")}` },
        body: JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Hi" }], max_tokens: 24 }),
      });
    const owedBefore = provider.store.getChannel(channel.channelId, channel.epoch).owed;
    const answers = await Promise.all(Array.from({ length: 16 }, () => direct()));
    const served = answers.filter((r) => r.status === 200);
    expect(served).toHaveLength(1);
    for (const refused of answers.filter((r) => r.status !== 200)) {
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBeTruthy();
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("channel_busy");
    }
    const cost = BigInt(served[0]!.headers.get("x-gotong-cost")!);
    // What the provider is owed beyond its vouchers is exactly that one request.
    expect(provider.store.getChannel(channel.channelId, channel.epoch).owed - owedBefore).toBe(cost);
  });

  it("never generates a replayed request id: the copy is refused before any work", async () => {
    const gateway = await net.gateway();
    expect((await ask(gateway.baseUrl, net.model.name, false)).status).toBe(200);
    const channel = gateway.store.getChannel(gateway.store.listChannels()[0]!.channelId)!;
    const requestId = `0x${randomBytes(32).toString("hex")}`;
    const post = async () =>
      fetch(`${provider.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          // A voucher paying everything owed so far (this gateway's spent plus the first direct request).
          "x-gotong-voucher": encodeVoucherHeader(await gateway.channels.voucherFor({ ...channel, spent: provider.store.getChannel(channel.channelId, channel.epoch).owed })),
          "x-gotong-request-id": requestId,
        },
        body: JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Hi" }], max_tokens: 8 }),
      });
    expect((await post()).status).toBe(200);
    const owed = provider.store.getChannel(channel.channelId, channel.epoch).owed;
    const replay = await post();
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe("request_id_reused");
    expect(provider.store.getChannel(channel.channelId, channel.epoch).owed).toBe(owed);
  });

  it("refuses a settlement voucher for a channel whose challenge period is over", async () => {
    const gateway = await net.gateway();
    expect((await ask(gateway.baseUrl, net.model.name, false)).status).toBe(200);
    await gateway.settle();
    await provider.redeemer.redeemNow();
    const channel = gateway.store.listChannels()[0]!;
    await gateway.clients.wallet.writeContract({ ...pc(), functionName: "startClose", args: [channel.channelId] }).then((hash) => gateway.clients.public.waitForTransactionReceipt({ hash }));
    const { challengePeriod } = net.devnet.deployment;
    await advanceTime(net.creator.public, challengePeriod + 1);
    const voucher = await gateway.channels.voucherFor({ ...channel, spent: channel.spent + 1n });
    const res = await fetch(`${provider.url}/gotong/vouchers`, { method: "POST", headers: { "x-gotong-voucher": encodeVoucherHeader(voucher) } });
    expect(res.status).toBe(402);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("channel_closed");
    expect(provider.store.unredeemed().some((s) => s.channelId === channel.channelId)).toBe(false);
  });

  it("under a tenfold burst answers the excess with 429 and Retry-After, serves every request it queued, and the money still agrees", async () => {
    const gateway = await net.gateway();
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => ask(gateway.baseUrl, net.model.name, i % 3 === 0, 4)));
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    // One channel holds one request running and 64 waiting: the first 65 always find room, and each
    // is served to its end with a cost; only the excess is refused. (How fast is bench/burst.ts's.)
    expect(served.length).toBeGreaterThanOrEqual(65);
    expect(served.every((a) => a.cost !== undefined && a.cost > 0n)).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.code).toBe("too_many_requests");
      expect(r.retryAfter).toMatch(/^[1-9]\d*$/);
    }
    // A refusal costs nothing and leaves nothing behind: one receipt per served request, no pending record.
    expect(gateway.store.listReceipts(1000)).toHaveLength(served.length);
    await expectIdentity(gateway, served.map((a) => a.cost!));
    for (const c of gateway.store.listChannels()) expect(gateway.store.listPending(c.channelId)).toEqual([]);
  });

  it("requires a loopback Host: a DNS-rebinding page cannot spend through the gateway", async () => {
    const gateway = await net.gateway();
    const { port } = new URL(gateway.url);
    const post = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Hi" }], max_tokens: 4 });
        const req = httpRequest(
          { host: "127.0.0.1", port: Number(port), method: "POST", path: "/v1/chat/completions", headers: { host, origin: `http://${host}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    expect(await post(`rebind.example:${port}`)).toBe(403);
    expect(await post(`127.0.0.1:${port}`)).toBe(200);
    expect(gateway.store.listReceipts(10)).toHaveLength(1);
  });

  it("40 clients dribbling request bodies do not take the provider's slots", async () => {
    const gateway = await net.gateway();
    const { port } = new URL(provider.url);
    const sockets = Array.from({ length: 40 }, () => {
      const socket = connect(Number(port), "127.0.0.1");
      socket.on("error", () => {});
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"model":`);
      return socket;
    });
    try {
      const answers = await Promise.all([ask(gateway.baseUrl, net.model.name, false), ask(gateway.baseUrl, net.model.name, true)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it("a client that never reads its stream does not hold up others, and the bill is what the gateway received", async () => {
    const gateway = await net.gateway();
    const { port } = new URL(gateway.url);
    const body = JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Tell a long story" }], max_tokens: 200, stream: true });
    const stalled = connect(Number(port), "127.0.0.1");
    stalled.on("error", () => {});
    stalled.pause(); // reads nothing, ever
    stalled.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    try {
      const answers = await Promise.all([1, 2, 3].map((i) => ask(gateway.baseUrl, net.model.name, i === 2)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    } finally {
      stalled.destroy();
    }
    // The stalled client was told nothing; what it was billed is on its receipt in the gateway's list.
    const receipts = gateway.store.listReceipts(100);
    await expectIdentity(gateway, receipts.map((r) => r.receipt.cost));
  });
});

describe("an on-path attacker who delivers a copy of a sealed request first", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let proxy: Server;
  let replays = 0;

  beforeAll(async () => {
    net = await startChatNetwork();
    const port = await freePort();
    // Between gateway and provider: the first chat request it sees is copied and delivered first,
    // its answer drained by the attacker (who cannot open it), then the original goes through.
    proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length"].includes(k))) as Record<string, string>;
      const target = `http://127.0.0.1:${port}${req.url}`;
      if (req.method === "POST" && req.url === "/v1/chat/completions" && replays === 0) {
        replays++;
        const copy = await fetch(target, { method: "POST", headers, body });
        await copy.arrayBuffer();
      }
      const upstream = await fetch(target, { method: req.method, headers, body: req.method === "POST" ? body : undefined });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      if (upstream.body) for await (const c of upstream.body as unknown as AsyncIterable<Uint8Array>) res.write(c);
      res.end();
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    provider = await net.provider(net.model.path, { port, publicUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
  });
  afterAll(async () => {
    proxy?.close();
    await net?.stop();
  });

  it("the user still gets an answer, the copy is paid once, and every amount agrees", async () => {
    const gateway = await net.gateway();
    const answers: Answer[] = [];
    answers.push(await ask(gateway.baseUrl, net.model.name, false));
    expect(replays).toBe(1);
    answers.push(await ask(gateway.baseUrl, net.model.name, true));
    answers.push(await ask(gateway.baseUrl, net.model.name, false));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    // Two receipts for the first request (the copy and the real one), and its cost covers both.
    expect(gateway.store.listReceipts(100)).toHaveLength(4);
    await gateway.settle();
    const channel = gateway.store.listChannels()[0]!;
    const told = sum(answers.map((a) => a.cost!));
    expect(told).toBe(channel.spent);
    expect(provider.store.getChannel(channel.channelId, channel.epoch).owed).toBe(channel.spent);
    await provider.redeemer.redeemNow();
    expect((await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channel.channelId)).redeemed).toBe(channel.spent);
    const sender: Address = privateKeyToAccount(gateway.key).address;
    expect(channel.provider).toBe(provider.address);
    expect(sender).toBe(gateway.address);
  });
});
