import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { createUpstreamBackend } from "../../src/provider/createUpstreamBackend.ts";
import { startProvider, type RunningProvider } from "../../src/provider/startProvider.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { startChatNetwork, DEFAULT_PRICE, UNIT, quietLogger, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";

/** A stand-in for vLLM / llama-server: an OpenAI-compatible server that streams and reports usage. */
function startFakeUpstream(): Promise<{ server: Server; url: string; requests: Record<string, unknown>[]; usage: { completion_tokens: number } }> {
  const requests: Record<string, unknown>[] = [];
  // What the upstream reports as its output count (5 chunks of text, 26 bytes, whatever it says).
  const usage = { completion_tokens: 5 };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (b) => (body += b));
    req.on("end", () => {
      const request = JSON.parse(body) as Record<string, unknown>;
      requests.push(request);
      res.writeHead(200, { "content-type": "text/event-stream" });
      const words = ["Upstream", " says", " hello", " to", " you"];
      for (const w of words) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: usage.completion_tokens } })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests, usage })));
}

describe("a provider serving from an upstream OpenAI-compatible server", () => {
  let net: ChatNetwork;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let provider: RunningProvider;
  let gateway: RunningGateway;

  beforeAll(async () => {
    net = await startChatNetwork();
    upstream = await startFakeUpstream();
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    provider = await startProvider({
      home: net.home,
      deployment: net.devnet.deployment,
      privateKey: key,
      modelPath: net.model.path,
      price: DEFAULT_PRICE,
      port: 0,
      backend: createUpstreamBackend({ baseUrl: upstream.url, model: "served-by-upstream" }),
      logger: quietLogger(),
    });
    gateway = await net.gateway();
  });
  afterAll(async () => {
    await provider?.stop();
    upstream?.server.close();
    await net?.stop();
  });

  it("relays the upstream's answer, paid and receipted, billing the upstream's prompt count", async () => {
    const res = await postChat(gateway.baseUrl, net.model.name, "hi there", { max_tokens: 16 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number; completion_tokens: number } };
    expect(body.choices[0]!.message.content).toBe("Upstream says hello to you");
    expect(body.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5 });
    expect(res.headers.get("x-gotong-cost")).toBe(String((7n * DEFAULT_PRICE.pricePerMillionInput + 5n * DEFAULT_PRICE.pricePerMillionOutput + 999_999n) / 1_000_000n));
    expect(upstream.requests[0]).toMatchObject({ model: "served-by-upstream", max_tokens: 16, stream: true });
  });

  it("bills output from the upstream's usage, never above max_tokens or what the text delivered can hold", async () => {
    const billed = async (completionTokens: number, maxTokens: number, stream: boolean) => {
      upstream.usage.completion_tokens = completionTokens;
      const res = await postChat(gateway.baseUrl, net.model.name, "hi there", { max_tokens: maxTokens, stream });
      expect(res.status).toBe(200);
      if (!stream) return Number(res.headers.get("x-gotong-output-tokens"));
      const events = (await res.text()).split("\n\n").filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)) as { gotong?: { outputTokens?: number; receiptId?: string } });
      return events.find((e) => e.gotong?.receiptId)!.gotong!.outputTokens!;
    };
    for (const stream of [false, true]) {
      expect(await billed(12, 16, stream)).toBe(12); // the upstream's own count, not one per chunk (5)
      expect(await billed(1_000, 16, stream)).toBe(16); // an upstream claiming more is held to max_tokens
      expect(await billed(1_000, 64, stream)).toBe(27); // ... and to the 26 bytes of text it sent, plus one
    }
    upstream.usage.completion_tokens = 5;
  });

  it("refuses n > 1 and logprobs by name, since the upstream's one usage total could not be checked against them", async () => {
    for (const [extra, param] of [[{ n: 2 }, "n"], [{ logprobs: true }, "logprobs"]] as const) {
      const res = await postChat(gateway.baseUrl, net.model.name, "hi there", { max_tokens: 8, ...extra });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; param: string; message: string } };
      expect(error).toMatchObject({ code: "invalid_parameter", param });
      expect(error.message).toContain("upstream server");
    }
  });
});
