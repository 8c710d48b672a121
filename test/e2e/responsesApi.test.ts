import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { z } from "zod";
import { computeCost } from "../../src/payments/price.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { createUpstreamBackend } from "../../src/provider/createUpstreamBackend.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { startChatNetwork, DEFAULT_PRICE, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { startEndlessUpstream } from "../helpers/endlessUpstream.ts";

/** What Gotong adds to a response object. */
type Gotong = { receiptId: string; cost: string; inputTokens: number; outputTokens: number };
const gotongOf = (response: unknown) => (response as { gotong: Gotong }).gotong;

describe("the Responses API through the official openai client", () => {
  let net: ChatNetwork;
  let gateway: RunningGateway;
  let client: OpenAI;

  beforeAll(async () => {
    net = await startChatNetwork();
    await net.provider(net.model.path);
    gateway = await net.gateway();
    client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: "not-needed" });
  });
  afterAll(() => net?.stop());

  /** The receipt the gateway accepted for a request, by id. */
  const receiptOf = (id: string) => gateway.store.listReceipts(1000).find((r) => r.receipt.requestId === id)!.receipt;

  it("answers responses.create with the model's text, usage and a cost that match the receipt to the base unit", async () => {
    const { data: response, response: http } = await client.responses.create({ model: net.model.name, input: "Once upon a time", max_output_tokens: 40, temperature: 0 }).withResponse();
    expect(response.object).toBe("response");
    expect(response.output_text.trim().length).toBeGreaterThan(0);
    if (net.model.real) expect(response.output_text).toMatch(/[a-z]{3,} [a-z]{2,}/i); // stories260K writes words
    const message = response.output[0]!;
    expect(message.type).toBe("message");
    expect(message.type === "message" && message.content[0]).toMatchObject({ type: "output_text", text: response.output_text });
    // Completed, or stopped by its limit and said so.
    expect(["completed", "incomplete"]).toContain(response.status);
    if (response.status === "incomplete") expect(response.incomplete_details).toEqual({ reason: "max_output_tokens" });
    const usage = response.usage!;
    expect(usage.output_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBeLessThanOrEqual(40);
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
    // Usage, headers and the gotong field all say what the receipt says.
    const receiptId = http.headers.get("x-gotong-receipt-id")!;
    const receipt = receiptOf(receiptId);
    expect(response.id).toBe(`resp_${receiptId.slice(2)}`);
    expect(BigInt(usage.input_tokens)).toBe(receipt.inputTokens);
    expect(BigInt(usage.output_tokens)).toBe(receipt.outputTokens);
    expect(BigInt(http.headers.get("x-gotong-cost")!)).toBe(receipt.cost);
    expect(receipt.cost).toBe(computeCost(DEFAULT_PRICE, { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens }));
    expect(gotongOf(response)).toMatchObject({ receiptId, cost: receipt.cost.toString(), outputTokens: usage.output_tokens });
    expect(Number(http.headers.get("x-gotong-output-tokens"))).toBe(usage.output_tokens);
  });

  it("streams the API's events in order; the deltas add up to the final text, with usage on response.completed", async () => {
    const stream = await client.responses.create({ model: net.model.name, input: "Tell me a story", max_output_tokens: 40, stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    const deltas = events.filter((e) => e.type === "response.output_text.delta");
    expect(deltas.length).toBeGreaterThan(2);
    expect(types.slice(4, 4 + deltas.length).every((t) => t === "response.output_text.delta")).toBe(true);
    const last = events.at(-1)!;
    expect(types.slice(4 + deltas.length)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", last.type]);
    expect(["response.completed", "response.incomplete"]).toContain(last.type);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = deltas.map((d) => d.delta).join("");
    expect(text.trim().length).toBeGreaterThan(0);
    const done = events.find((e) => e.type === "response.output_text.done");
    expect(done?.type === "response.output_text.done" && done.text).toBe(text);
    const final = (last as { response: OpenAI.Responses.Response }).response;
    const item = final.output[0]!;
    expect(item.type === "message" && item.content[0]?.type === "output_text" && item.content[0].text).toBe(text);
    const receipt = receiptOf(gotongOf(final).receiptId);
    expect(BigInt(final.usage!.output_tokens)).toBe(receipt.outputTokens);
    expect(BigInt(final.usage!.input_tokens)).toBe(receipt.inputTokens);
    expect(BigInt(gotongOf(final).cost)).toBe(receipt.cost);
    expect(final.id).toBe((events[0] as { response: { id: string } }).response.id);

    // The SDK's own accumulator takes the same events and arrives at the same text.
    const helper = client.responses.stream({ model: net.model.name, input: "Tell me a story", max_output_tokens: 20 });
    let streamed = "";
    helper.on("response.output_text.delta", (e) => (streamed += e.delta));
    const accumulated = await helper.finalResponse();
    expect(accumulated.output_text).toBe(streamed);
    expect(accumulated.usage!.output_tokens).toBeGreaterThan(0);
  });

  it("puts instructions into the prompt as a system message: the same answer and prompt count as chat with that system message", async () => {
    const instructions = "You are a storyteller who writes about dogs.";
    const response = await client.responses.create({ model: net.model.name, instructions, input: "Once upon a time", max_output_tokens: 20, temperature: 0 });
    expect(response.instructions).toBe(instructions);
    const chat = await client.chat.completions.create({
      model: net.model.name,
      messages: [{ role: "system", content: instructions }, { role: "user", content: "Once upon a time" }],
      max_tokens: 20,
      temperature: 0,
    });
    expect(response.output_text).toBe(chat.choices[0]!.message.content);
    expect(response.usage!.input_tokens).toBe(chat.usage!.prompt_tokens);
    const without = await client.responses.create({ model: net.model.name, input: "Once upon a time", max_output_tokens: 20, temperature: 0 });
    expect(without.usage!.input_tokens).toBeLessThan(response.usage!.input_tokens);
  });

  it("round-trips a function call: function_call → function_call_output → answer, streamed and not", async () => {
    const tools: OpenAI.Responses.FunctionTool[] = [
      {
        type: "function",
        name: "get_weather",
        description: "The weather in a city",
        parameters: { type: "object", properties: { city: { enum: ["Paris", "Lima"] }, unit: { enum: ["C", "F"] } }, required: ["city", "unit"], additionalProperties: false },
        strict: true,
      },
    ];
    const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "What is the weather in Paris?" }];
    const ask = { model: net.model.name, input, tools, tool_choice: { type: "function" as const, name: "get_weather" }, max_output_tokens: 200 };
    const first = await client.responses.create(ask);
    expect(first.status).toBe("completed");
    expect(first.output).toHaveLength(1);
    const call = first.output[0]!;
    if (call.type !== "function_call") throw new Error(`expected a function_call, got ${call.type}`);
    expect(call.name).toBe("get_weather");
    expect(call.call_id).toMatch(/^call_/);
    const args = JSON.parse(call.arguments) as { city: string; unit: string };
    expect(["Paris", "Lima"]).toContain(args.city);
    expect(["C", "F"]).toContain(args.unit);

    // Streamed: the call arrives as argument deltas that add up to its arguments.
    const events: ResponseStreamEvent[] = [];
    for await (const event of await client.responses.create({ ...ask, stream: true })) events.push(event);
    const deltas = events.filter((e) => e.type === "response.function_call_arguments.delta").map((e) => e.delta).join("");
    const argsDone = events.find((e) => e.type === "response.function_call_arguments.done");
    expect(argsDone?.type === "response.function_call_arguments.done" && argsDone.arguments).toBe(deltas);
    expect(argsDone?.type === "response.function_call_arguments.done" && argsDone.name).toBe("get_weather");
    expect(Object.keys(JSON.parse(deltas) as object).sort()).toEqual(["city", "unit"]);
    expect(events.at(-1)!.type).toBe("response.completed");

    // The call and its result go back as input items (the output item as it came); the model answers
    // in text, exactly as chat completions answer the same conversation.
    const answer = await client.responses.create({
      model: net.model.name,
      tools,
      tool_choice: "none",
      max_output_tokens: 20,
      temperature: 0,
      input: [...input, call, { type: "function_call_output", call_id: call.call_id, output: "Sunny, 21 C" }],
    });
    expect(answer.output.length).toBeGreaterThan(0);
    expect(answer.output.every((item) => item.type === "message")).toBe(true);
    const chat = await client.chat.completions.create({
      model: net.model.name,
      tools: tools.map(({ name, description, parameters }) => ({ type: "function" as const, function: { name, description: description!, parameters: parameters! } })),
      tool_choice: "none",
      max_tokens: 20,
      temperature: 0,
      messages: [
        { role: "user", content: "What is the weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [{ id: call.call_id, type: "function", function: { name: call.name, arguments: call.arguments } }] },
        { role: "tool", tool_call_id: call.call_id, content: "Sunny, 21 C" },
      ],
    });
    expect(answer.output_text).toBe(chat.choices[0]!.message.content);
    expect(answer.usage!.input_tokens).toBe(chat.usage!.prompt_tokens); // the call and its result were in the prompt
  });

  it("returns JSON that parses and validates with text.format json_schema, through the SDK's own parser", async () => {
    const Dog = z.object({ mood: z.enum(["happy", "sad", "sleepy"]), hungry: z.boolean(), friends: z.array(z.enum(["cat", "dog"])).max(3) });
    const parsed = await client.responses.parse({
      model: net.model.name,
      input: "How is the little dog? Answer in JSON.",
      max_output_tokens: 60,
      text: { format: zodTextFormat(Dog, "dog") },
    });
    expect(parsed.status).toBe("completed");
    expect(Dog.parse(parsed.output_parsed)).toEqual(parsed.output_parsed);
    expect(Object.keys(JSON.parse(parsed.output_text) as object).sort()).toEqual(["friends", "hungry", "mood"]);
    // Streamed, the same format holds.
    let streamed = "";
    for await (const event of await client.responses.create({ model: net.model.name, input: "How is the dog?", max_output_tokens: 60, stream: true, text: { format: zodTextFormat(Dog, "dog") } })) {
      if (event.type === "response.output_text.delta") streamed += event.delta;
    }
    Dog.parse(JSON.parse(streamed));
  });

  it("refuses previous_response_id, built-in tools and a stored-response lookup with errors that say why", async () => {
    const receiptsBefore = gateway.store.listReceipts(1000).length;
    const previous = await client.responses.create({ model: net.model.name, input: "Go on", previous_response_id: "resp_abc" }).catch((e: unknown) => e);
    expect(previous).toBeInstanceOf(OpenAI.APIError);
    expect(previous).toMatchObject({ status: 400, param: "previous_response_id", code: "previous_response_not_found", message: expect.stringContaining("stores no responses") });
    const search = await client.responses.create({ model: net.model.name, input: "News?", tools: [{ type: "web_search" }] }).catch((e: unknown) => e);
    expect(search).toMatchObject({ status: 400, param: "tools[0]", message: expect.stringContaining('"web_search"') });
    const lookup = await client.responses.retrieve("resp_abc").catch((e: unknown) => e);
    expect(lookup).toMatchObject({ status: 404, code: "response_not_found", message: expect.stringContaining("stored") });
    // None of these reached a provider: nothing was paid for them.
    expect(gateway.store.listReceipts(1000)).toHaveLength(receiptsBefore);
  });
});

describe("a Responses stream whose client leaves", () => {
  let net: ChatNetwork;
  let upstream: Awaited<ReturnType<typeof startEndlessUpstream>>;
  let provider: RunningProvider;

  beforeAll(async () => {
    net = await startChatNetwork();
    upstream = await startEndlessUpstream();
    provider = await net.provider(net.model.path, { backend: createUpstreamBackend({ baseUrl: upstream.url, model: "endless" }) });
  });
  afterAll(async () => {
    await provider?.stop();
    upstream?.server.close();
    await net?.stop();
  });

  it("is billed only for what was sent before it left: gateway spent = provider owed = redeemed, to the base unit", async () => {
    const gateway = await net.gateway({ deposit: 100n * UNIT });
    const client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: "not-needed", maxRetries: 0 });
    const maxTokens = 1_000_000;
    const stream = await client.responses.create({ model: net.model.name, input: "Go on forever", max_output_tokens: maxTokens, stream: true });
    let received = "";
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") received += event.delta;
      if (received.length >= 5_000) break; // leaving the loop aborts the request
    }
    // The gateway asks the provider to stop, reads the answer to its end, and accepts its receipt.
    await waitFor(() => upstream.open() === 0, { what: "the provider to stop generating", timeoutMs: 30_000 });
    const cut = await waitFor(() => gateway.store.listReceipts(10)[0], { what: "the receipt of the abandoned response" });
    const channel = gateway.store.listChannels().find((c) => c.provider === provider.address)!;
    expect(gateway.store.listPending(channel.channelId)).toEqual([]);
    // At least what the client read (one token per " word"), no more than was generated, far below what it asked for.
    expect(cut.receipt.outputTokens).toBeGreaterThanOrEqual(BigInt(Math.floor(received.length / " word".length)));
    expect(cut.receipt.outputTokens).toBeLessThanOrEqual(BigInt(upstream.written()));
    expect(cut.receipt.outputTokens).toBeLessThan(BigInt(maxTokens));

    // The channel serves the next response, and every amount agrees to the base unit.
    const next = await client.responses.create({ model: net.model.name, input: "Short one", max_output_tokens: 4 }).withResponse();
    expect(next.data.usage!.output_tokens).toBe(4);
    expect(BigInt(next.response.headers.get("x-gotong-cost")!)).toBe(receiptsCost(gateway).last);
    await gateway.settle();
    const spent = gateway.store.getChannel(channel.channelId)!.spent;
    expect(spent).toBe(receiptsCost(gateway).total);
    expect(provider.store.getChannel(channel.channelId, channel.epoch).owed).toBe(spent);
    await provider.redeemer.redeemNow();
    expect((await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channel.channelId)).redeemed).toBe(spent);
  }, 120_000);

  it("ends with an error event and response.failed when the provider's stream breaks off, and pays nothing for it", async () => {
    const gateway = await net.gateway({ deposit: 100n * UNIT });
    const client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: "not-needed", maxRetries: 0 });
    const events: ResponseStreamEvent[] = [];
    for await (const event of await client.responses.create({ model: net.model.name, input: "Start, then break off", max_output_tokens: 1_000, stream: true })) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(["response.created", "response.in_progress"]);
    expect(types.slice(-2)).toEqual(["error", "response.failed"]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const error = events.at(-2) as OpenAI.Responses.ResponseErrorEvent;
    expect(error.code).toMatch(/^[a-z_]+$/); // the sealed stream is cut short: it says so, or that the provider stopped
    expect(error.message.length).toBeGreaterThan(0);
    const failed = (events.at(-1) as { response: OpenAI.Responses.Response }).response;
    expect(failed.status).toBe("failed");
    expect(failed.error).toEqual({ code: "server_error", message: error.message });
    // Whatever text got through before the break is in the failed response, marked incomplete.
    for (const item of failed.output) expect(item).toMatchObject({ type: "message", status: "incomplete" });
    expect(failed.output.length).toBe(types.filter((t) => t === "response.output_item.added").length);
    // The provider signed no receipt for it: once the next request has settled the channel, nothing was paid for it.
    const next = await client.responses.create({ model: net.model.name, input: "Short one", max_output_tokens: 4 });
    expect(next.usage!.output_tokens).toBe(4);
    await gateway.settle();
    const channel = gateway.store.listChannels().find((c) => c.provider === provider.address)!;
    expect(gateway.store.listPending(channel.channelId)).toEqual([]);
    expect(gateway.store.listReceipts(10)).toHaveLength(1);
    expect(channel.spent).toBe(receiptsCost(gateway).total);
    expect(provider.store.getChannel(channel.channelId, channel.epoch).owed).toBe(gateway.store.getChannel(channel.channelId)!.spent);
  }, 120_000);
});

/** The costs of a gateway's accepted receipts: all together, and the latest one. */
function receiptsCost(gateway: RunningGateway): { total: bigint; last: bigint } {
  const receipts = gateway.store.listReceipts(1000);
  return { total: receipts.reduce((a, r) => a + r.receipt.cost, 0n), last: receipts[0]!.receipt.cost };
}
