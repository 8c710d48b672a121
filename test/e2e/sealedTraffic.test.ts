import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { hexToBytes, type Hex } from "viem";
import { createRequestInfo, sealRequest } from "../../src/privacy/index.ts";
import { encodeVoucherHeader, signVoucher } from "../../src/protocol/voucher.ts";
import { rotateProviderKey } from "../../src/provider/rotateProviderKey.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { privateKeyToAccount } from "viem/accounts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";
import { startTapProxy } from "../helpers/tapProxy.ts";
import { waitFor } from "../helpers/waitFor.ts";

describe("end-to-end sealed traffic between gateway and provider", () => {
  let net: ChatNetwork;
  let provider: RunningProvider & { key: Hex };
  let gateway: RunningGateway & { key: Hex };
  let tap: Awaited<ReturnType<typeof startTapProxy>>;

  beforeAll(async () => {
    net = await startChatNetwork();
    const port = await freePort();
    tap = await startTapProxy({ host: "127.0.0.1", port });
    provider = await net.provider(net.model.path, { port, publicUrl: tap.url });
    gateway = await net.gateway({ offersRefreshMs: 0 });
  });
  afterAll(async () => {
    await tap?.close();
    await net?.stop();
  });

  const chat = (content: string, extra: Record<string, unknown> = {}) => postChat(gateway.baseUrl, net.model.name, content, { max_tokens: 24, ...extra });

  it("carries no plaintext prompt or answer on the wire, streamed or not", async () => {
    const canary = `canary-${randomBytes(10).toString("hex")}`;
    const plain = await chat(`Tell ${canary} a story`);
    expect(plain.status).toBe(200);
    const answer = ((await plain.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    const streamed = await chat(`Tell ${canary} a story`, { stream: true });
    const streamedText = await streamed.text();
    expect(streamedText).toContain('"gotong":{"receiptId"');
    const sent = tap.sent();
    const received = tap.received();
    expect(sent.includes(canary)).toBe(false);
    expect(sent.includes("application/gotong-sealed")).toBe(true);
    // The answer's text in three-word runs: a single word can occur in the clear framing by chance
    // (a story's "stream" in `text/event-stream`), a run of the answer cannot.
    const words = answer.split(/\s+/).filter(Boolean);
    const threes = words.slice(0, -2).map((_, i) => words.slice(i, i + 3).join(" ")).filter((run) => run.length >= 12);
    const runs = threes.length > 0 ? threes : [answer.trim()];
    expect(runs[0]!.length).toBeGreaterThan(0);
    for (const run of runs) expect(received.includes(run)).toBe(false);
    expect(received.includes('"content"')).toBe(false);
    expect(received.includes('"choices"')).toBe(false);
  });

  it("refuses a sealed stream tampered with on the way, with a clear error and no garbage text", async () => {
    let flipped = false;
    tap.setTamper((chunk) => {
      const at = chunk.indexOf("data: ");
      if (flipped || at < 0 || chunk.length < at + 20) return chunk;
      flipped = true;
      const copy = Buffer.from(chunk);
      copy[at + 12] = copy[at + 12] === 0x41 ? 0x42 : 0x41; // one base64 character of a sealed frame
      return copy;
    });
    const res = await chat("Once upon a time", { stream: true });
    const text = await res.text();
    tap.setTamper(undefined);
    expect(flipped).toBe(true);
    expect(text).toMatch(/"code":"envelope_invalid"/);
    expect(text).not.toMatch(/"delta":\{"content"/);
    // The gateway gave up on the stream; the provider finishes the request on its own time. Wait
    // for its receipt, so the tests after this one see a channel with nothing in flight.
    const requestId = res.headers.get("x-gotong-request-id") as Hex;
    expect(requestId).toMatch(/^0x[0-9a-f]{64}$/);
    await waitFor(() => provider.store.getReceipt(requestId), { what: `the provider to finish the tampered stream's request ${requestId}` });
  });

  it("rotates the provider's key on-chain without dropping a request in flight", async () => {
    const { deployment } = net.devnet;
    const before = provider.sealed.publicKey;
    const inFlight = chat("A long story", { stream: true, max_tokens: 200 });
    const providerClients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(provider.key) });
    const rotated = await rotateProviderKey(providerClients, deployment, net.home.keys);
    expect(rotated.publicKey).not.toBe(before);
    const streamed = await (await inFlight).text();
    expect(streamed).toContain('"receiptId"');
    expect(streamed).not.toContain('"error"');
    // The gateway reads the new key from the chain; the provider picks it up from disk.
    const after = await chat("After the rotation");
    expect(after.status, await after.clone().text()).toBe(200);
    expect(provider.sealed.publicKey).toBe(rotated.publicKey);
  });
  it("refuses a tampered, replayed or re-labelled envelope at the provider, charging nothing", async () => {
    const channel = gateway.store.listChannels()[0]!;
    const owedBefore = provider.store.getChannel(channel.channelId, channel.epoch).owed;
    // Pay for everything served so far, as the gateway's next request would.
    const voucher = encodeVoucherHeader(
      await signVoucher(privateKeyToAccount(gateway.key), { chainId: net.devnet.deployment.chainId, verifyingContract: net.devnet.deployment.paymentChannels }, { channelId: channel.channelId, epoch: channel.epoch, cumulativeAmount: owedBefore }),
    );
    const requestId = `0x${randomBytes(32).toString("hex")}` as Hex;
    const body = Buffer.from(JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "hello" }], max_tokens: 4 }));
    const info = createRequestInfo({ chainId: net.devnet.deployment.chainId, provider: provider.address });
    const { envelope } = sealRequest(hexToBytes(provider.sealed.publicKey), body, info, { aad: hexToBytes(requestId) });
    const send = (bytes: Uint8Array, id: Hex) =>
      fetch(`${provider.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/gotong-sealed", "x-gotong-request-id": id, "x-gotong-voucher": voucher },
        body: bytes,
      });
    const tampered = Buffer.from(envelope);
    tampered[tampered.length - 5]! ^= 1;
    const bad = await send(tampered, requestId);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("envelope_invalid");
    const relabelled = await send(envelope, `0x${randomBytes(32).toString("hex")}`);
    expect(relabelled.status).toBe(400);
    expect(provider.store.getChannel(channel.channelId, channel.epoch).owed).toBe(owedBefore);

    expect((await send(envelope, requestId)).status).toBe(200);
    const replay = await send(envelope, requestId);
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe("request_id_reused");
  });

});
