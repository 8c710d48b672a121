import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "node:net";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { createUpstreamBackend } from "../../src/provider/createUpstreamBackend.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { startGateway } from "../../src/gateway/startGateway.ts";
import { startChatNetwork, UNIT, quietLogger, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { startEndlessUpstream } from "../helpers/endlessUpstream.ts";

/**
 * A client that stops reading pauses the generation behind it, end to end: its socket fills, the
 * gateway stops reading the provider, the provider stops asking its engine for tokens, and the
 * engine (here an upstream server that writes only as fast as it is read, like llama-server or
 * vLLM) stops producing. After the stall limit the stream is cut and billed for what was flushed.
 * The embedded engine's pause is tested on its own token loop (createLlamaBackend.test.ts).
 */

const MAX_TOKENS = 1_000_000;
const STALL_MS = 2_000;

describe("a client that never reads its stream", () => {
  let net: ChatNetwork;
  let upstream: Awaited<ReturnType<typeof startEndlessUpstream>>;
  let provider: RunningProvider;

  beforeAll(async () => {
    net = await startChatNetwork();
    upstream = await startEndlessUpstream();
    provider = await net.provider(net.model.path, { stallMs: STALL_MS, backend: createUpstreamBackend({ baseUrl: upstream.url, model: "endless" }) });
  });
  afterAll(async () => {
    await provider?.stop();
    upstream?.server.close();
    await net?.stop();
  });

  it("pauses generation, is cut after the stall limit, and is billed only what was flushed", async () => {
    // The gateway cuts its stalled client a little after the provider has cut the gateway: the
    // bytes then still in the socket buffers between them are read to the end and counted.
    const gatewayKey = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(gatewayKey).address, { tokens: 1_000n * UNIT });
    const gateway = await startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: gatewayKey, port: 0, deposit: 100n * UNIT, stallMs: STALL_MS * 2, logger: quietLogger() });
    const { port } = new URL(gateway.url);
    const body = JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Go on forever" }], max_tokens: MAX_TOKENS, stream: true });
    const stalled = connect(Number(port), "127.0.0.1");
    stalled.on("error", () => {});
    stalled.pause(); // reads nothing, ever
    stalled.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    try {
      // Generation starts, then stops growing: the buffers between client and engine are full.
      await waitFor(() => upstream.written() > 100, { what: "the upstream to start streaming", timeoutMs: 30_000 });
      let before = -1;
      await waitFor(
        async () => {
          const now = upstream.written();
          const still = now === before;
          before = now;
          if (!still) await new Promise((r) => setTimeout(r, 300));
          return still;
        },
        { what: "generation to pause while the client reads nothing", timeoutMs: 30_000 },
      );
      expect(upstream.written()).toBeLessThan(MAX_TOKENS / 4);
      // After the stall limit the provider cuts the stream and the upstream request is closed.
      await waitFor(() => upstream.open() === 0, { what: "the stalled stream to be cut", timeoutMs: 30_000 });
      const generated = upstream.written();

      // The provider's slot is free again, and the channel is not stuck on a disputed bill: the
      // next request (which waits for the gateway to cut its stalled client) is served.
      const res = await postChat(gateway.baseUrl, net.model.name, "hello", { max_tokens: 4 });
      expect(res.status, await res.clone().text()).toBe(200);
      await res.arrayBuffer();

      // Billed for no more tokens than the engine produced, and every amount agrees.
      await gateway.settle();
      const receipts = gateway.store.listReceipts(10);
      const cutReceipt = receipts.find((r) => r.receipt.outputTokens > 4n);
      expect(cutReceipt, "the cut request has a receipt").toBeDefined();
      expect(cutReceipt!.receipt.outputTokens).toBeLessThanOrEqual(BigInt(generated));
      expect(cutReceipt!.receipt.outputTokens).toBeGreaterThan(0n);
      const channel = gateway.store.listChannels().find((c) => c.provider === provider.address)!;
      const billed = receipts.reduce((a, r) => a + r.receipt.cost, 0n);
      expect(channel.spent).toBe(billed);
      expect(provider.store.getChannel(channel.channelId, channel.epoch).owed).toBe(billed);
      await provider.redeemer.redeemNow();
      expect((await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channel.channelId)).redeemed).toBe(billed);
    } finally {
      stalled.destroy();
      await gateway.stop();
    }
  }, 120_000);

  it("a client that leaves mid-stream stops the generation, and both sides count the same tokens", async () => {
    const gateway = await net.gateway({ deposit: 100n * UNIT });
    const before = gateway.store.listReceipts(100).length;
    const abort = new AbortController();
    const res = await postChat(gateway.baseUrl, net.model.name, "Go on forever", { max_tokens: MAX_TOKENS, stream: true }, abort.signal);
    const reader = res.body!.getReader();
    let seen = 0;
    while (seen < 20_000) seen += (await reader.read()).value?.length ?? 0;
    abort.abort();
    // The gateway asks the provider to stop instead of cutting the connection, then reads the
    // answer to its end: the receipt arrives in band, for every token that was sent.
    await waitFor(() => upstream.open() === 0, { what: "the provider to stop generating", timeoutMs: 30_000 });
    const receipt = await waitFor(() => gateway.store.listReceipts(100).length > before && gateway.store.listReceipts(1)[0], { what: "the receipt of the cancelled request" });
    expect(receipt.receipt.outputTokens).toBeGreaterThan(0n);
    expect(receipt.receipt.outputTokens).toBeLessThan(BigInt(MAX_TOKENS));
    const channel = gateway.store.listChannels().find((c) => c.provider === provider.address)!;
    expect(gateway.store.listPending(channel.channelId)).toEqual([]);
    await gateway.settle();
    expect(provider.store.getChannel(channel.channelId, channel.epoch).owed).toBe(channel.spent);
    // The next request on the channel is served.
    const next = await postChat(gateway.baseUrl, net.model.name, "hello", { max_tokens: 4 });
    expect(next.status).toBe(200);
    await next.arrayBuffer();
  }, 120_000);

  it("a cancel for a request that is not running changes nothing", async () => {
    const res = await fetch(`${provider.url}/gotong/requests/0x${"ab".repeat(32)}/cancel`, { method: "POST" });
    expect(await res.json()).toEqual({ cancelled: false });
  });
});
