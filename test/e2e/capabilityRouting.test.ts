import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address } from "viem";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { createUpstreamBackend } from "../../src/provider/createUpstreamBackend.ts";
import { startProvider, type RunningProvider } from "../../src/provider/startProvider.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { startChatNetwork, DEFAULT_PRICE, UNIT, quietLogger, type ChatNetwork } from "../helpers/network.ts";

/**
 * Capability-aware routing and OpenRouter's `provider` preferences, through the official openai
 * client: a request that uses tools goes only where tools are offered, and says so when nowhere.
 */

/** An OpenAI-compatible upstream (as vLLM or llama-server would be) that streams a fixed answer. */
function startFakeUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "upstream" }, finish_reason: "stop" }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` })));
}

const times = (n: bigint) => ({ pricePerMillionInput: n * DEFAULT_PRICE.pricePerMillionInput, pricePerMillionOutput: n * DEFAULT_PRICE.pricePerMillionOutput });

const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: "function",
    function: { name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
  },
];

/** A chat request body with OpenRouter's `provider` object, which the openai client sends as is. */
type WithProvider = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming & { provider?: Record<string, unknown> };

describe("capability-aware routing and routing preferences", () => {
  let net: ChatNetwork;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let chatOnly: RunningProvider;
  let gateway: RunningGateway;
  let client: OpenAI;
  let a: RunningProvider;
  let b: RunningProvider;

  const toolRequest = (): WithProvider => ({
    model: net.model.name,
    messages: [{ role: "user", content: "What is the weather in Paris?" }],
    tools,
    tool_choice: { type: "function", function: { name: "get_weather" } },
    max_tokens: 200,
    // Seeded: a sampled argument can run past max_tokens (finish_reason "length"), by luck.
    seed: 7,
  });
  const chat = (provider?: Record<string, unknown>): WithProvider => ({
    model: net.model.name,
    messages: [{ role: "user", content: "Once upon a time" }],
    max_tokens: 8,
    ...(provider ? { provider } : {}),
  });
  /** Sends a chat request; returns the provider that served it. */
  const servedBy = async (body: WithProvider) => {
    const { data, response } = await client.chat.completions.create(body).withResponse();
    return { provider: response.headers.get("x-gotong-provider") as Address, completion: data };
  };
  const refusal = (body: WithProvider) => client.chat.completions.create(body).then(() => expect.unreachable("the request was served"), (error: unknown) => error as InstanceType<typeof OpenAI.APIError> & { error: { hint?: string } });

  beforeAll(async () => {
    net = await startChatNetwork();
    upstream = await startFakeUpstream();
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    // The dearest provider, serving from an upstream server: it offers chat only.
    chatOnly = await startProvider({
      home: net.home,
      deployment: net.devnet.deployment,
      privateKey: key,
      modelPath: net.model.path,
      price: times(3n),
      port: 0,
      backend: createUpstreamBackend({ baseUrl: upstream.url, model: "served-by-upstream" }),
      redeemIntervalMs: 3_600_000,
      logger: quietLogger(),
    });
    gateway = await net.gateway({ offersRefreshMs: 0 });
    client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: "not-needed", maxRetries: 0 });
  });
  afterAll(async () => {
    await chatOnly?.stop();
    upstream?.server.close();
    await net?.stop();
  });

  it("refuses a tools request that only a chat-only provider could take, naming the capability, the model and the provider", async () => {
    const error = await refusal(toolRequest());
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.code).toBe("capability_unavailable");
    expect(error.param).toBe("tools");
    expect(error.message).toContain(`No provider of "${net.model.name}" offers tools`);
    expect(error.error.hint).toContain(`${chatOnly.address} (chat)`);

    const schema = await refusal({ ...chat(), response_format: { type: "json_schema", json_schema: { name: "story", schema: { type: "object", properties: { title: { type: "string" } } } } } });
    expect(schema).toMatchObject({ status: 400, code: "capability_unavailable", param: "response_format" });
    expect(schema.message).toContain("structured_outputs");

    // Nothing was paid for either: no channel was even opened.
    expect(gateway.store.listChannels()).toEqual([]);
    // Without the capability, the same provider serves (tools: [] and tool_choice "none" use none).
    expect((await servedBy({ ...chat(), tools: [] })).provider).toBe(chatOnly.address);
    expect((await servedBy({ ...toolRequest(), tool_choice: "none" })).provider).toBe(chatOnly.address);
  });

  it("sends the same tools request to a provider on the embedded engine once there is one", async () => {
    a = await net.provider(net.model.path, { price: DEFAULT_PRICE });
    const { provider, completion } = await servedBy(toolRequest());
    expect(provider).toBe(a.address);
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
    const call = completion.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toHaveProperty("city");
  });

  it("honours provider.order, and takes the provider object out of what the provider gets", async () => {
    b = await net.provider(net.model.path, { price: times(2n) });
    // The cheapest first by default; `order` first of all (a provider refuses fields it does not
    // know, so an answer also shows that `provider` was not passed on).
    expect((await servedBy(chat())).provider).toBe(a.address);
    expect((await servedBy(chat({ order: [b.address, a.address] }))).provider).toBe(b.address);
    expect((await servedBy({ ...toolRequest(), provider: { order: [chatOnly.address, b.address] } })).provider).toBe(b.address);
    // Lower case is the same address; sort by price puts the cheapest first again.
    expect((await servedBy(chat({ order: [b.address.toLowerCase()], sort: "price" }))).provider).toBe(b.address);
    expect((await servedBy(chat({ sort: "price" }))).provider).toBe(a.address);
  });

  it("refuses provider.only naming no provider of the model, or a name that is not an address", async () => {
    const stranger = privateKeyToAccount(generatePrivateKey()).address;
    const unknown = await refusal(chat({ only: [stranger] }));
    expect(unknown).toMatchObject({ status: 400, code: "no_matching_provider", param: "provider.only" });
    expect(unknown.message).toContain(stranger);
    expect(unknown.error.hint).toContain(a.address);

    const notAddress = await refusal(chat({ only: ["openai"] }));
    expect(notAddress).toMatchObject({ status: 400, code: "invalid_parameter", param: "provider.only[0]" });
    expect((await servedBy(chat({ only: [b.address, stranger] }))).provider).toBe(b.address);
    expect((await servedBy(chat({ ignore: [a.address] }))).provider).toBe(b.address);
  });

  it("keeps to max_price (whole payment tokens per million tokens) and allow_fallbacks", async () => {
    const tokensOf = (baseUnits: bigint) => Number(baseUnits) / Number(UNIT);
    const ceiling = { prompt: tokensOf(DEFAULT_PRICE.pricePerMillionInput), completion: tokensOf(DEFAULT_PRICE.pricePerMillionOutput) };
    // B comes first by order, but costs more than the ceiling: A serves.
    expect((await servedBy(chat({ order: [b.address], max_price: ceiling }))).provider).toBe(a.address);
    const tooLow = await refusal(chat({ max_price: { prompt: ceiling.prompt / 2 } }));
    expect(tooLow).toMatchObject({ status: 400, code: "no_matching_provider", param: "provider.max_price" });
    // Without fallbacks, only the ordered providers may serve.
    const none = await refusal(chat({ order: [b.address], allow_fallbacks: false, max_price: ceiling }));
    expect(none).toMatchObject({ status: 400, code: "no_matching_provider", param: "provider.order" });
    expect((await servedBy(chat({ order: [b.address], allow_fallbacks: false }))).provider).toBe(b.address);
    expect(await refusal(chat({ sort: "cheapest" }))).toMatchObject({ status: 400, code: "invalid_parameter", param: "provider.sort" });
  });

  it("filters by the quantization of the weights the providers state", async () => {
    // stories260K, like the generated fallback model, stores its weights in F32.
    expect((await servedBy(chat({ quantizations: ["fp32"] }))).provider).toBe(a.address);
    expect((await servedBy(chat({ quantizations: ["f32"], order: [b.address] }))).provider).toBe(b.address);
    const refused = await refusal(chat({ quantizations: ["int4", "fp16"] }));
    expect(refused).toMatchObject({ status: 400, code: "no_matching_provider", param: "provider.quantizations" });
    expect(refused.error.hint).toContain(`${a.address} (weights F32)`);
  });

  it("takes a gateway's default preferences, each field of a request's own replacing it", async () => {
    const preferring = await net.gateway({ offersRefreshMs: 0, routing: { order: [b.address], ignore: [chatOnly.address] } });
    const other = new OpenAI({ baseURL: preferring.baseUrl, apiKey: "not-needed", maxRetries: 0 });
    const served = async (body: WithProvider) => (await other.chat.completions.create(body).withResponse()).response.headers.get("x-gotong-provider");
    expect(await served(chat())).toBe(b.address);
    expect(await served(chat({ order: [a.address] }))).toBe(a.address);
    // The request set `order` only: the gateway's `ignore` still holds, and the cheapest of the rest serves.
    expect(await served(chat({ order: [chatOnly.address] }))).toBe(a.address);
  });

  it("lists each model's capabilities, context length, prices, sealing and live providers in /v1/models", async () => {
    const list = await client.models.list();
    const model = list.data.find((m) => m.id === net.model.name) as unknown as {
      context_length: number | null;
      gotong: {
        providers: number;
        capabilities: string[];
        sealed: boolean;
        pricePerMillionInput: string;
        offers: { provider: Address; capabilities: string[]; contextLength: number | null; engine: string | null; live: boolean }[];
      };
    };
    expect(model.gotong.providers).toBe(3);
    expect(model.gotong.capabilities).toEqual(["chat", "tools", "structured_outputs"]);
    expect(model.gotong.sealed).toBe(true);
    expect(model.gotong.pricePerMillionInput).toBe(DEFAULT_PRICE.pricePerMillionInput.toString());
    expect(model.context_length).toBeGreaterThan(0);
    const upstreamOffer = model.gotong.offers.find((o) => o.provider === chatOnly.address)!;
    expect(upstreamOffer).toMatchObject({ capabilities: ["chat"], engine: "upstream", contextLength: 4096, live: true });
    expect(model.gotong.offers.find((o) => o.provider === a.address)).toMatchObject({ capabilities: ["chat", "tools", "structured_outputs"], engine: "llama.cpp" });
    const one = (await client.models.retrieve(net.model.name)) as unknown as typeof model;
    expect(one.gotong.capabilities).toEqual(model.gotong.capabilities);
    expect(one.context_length).toBe(model.context_length);
  });
});
