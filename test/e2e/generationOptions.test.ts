import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import type { Address } from "viem";
import { computeCost } from "../../src/payments/price.ts";
import { MAX_CHOICES } from "../../src/protocol/parseGenerationRequest.ts";
import { sharedModel } from "../fixtures/model/sharedModels.ts";
import { DEFAULT_PRICE, startChatNetwork, type ChatNetwork } from "../helpers/network.ts";

type Summary = { receiptId: string; cost: string; inputTokens: number; outputTokens: number };
type TokenLogprob = { token: string; logprob: number; bytes: number[] | null; top_logprobs: { token: string; logprob: number; bytes: number[] | null }[] };

describe("n, logprobs and the default output length, with the official openai client", () => {
  let net: ChatNetwork;
  let client: OpenAI;
  let gateway: Awaited<ReturnType<ChatNetwork["gateway"]>>;
  let provider: Awaited<ReturnType<ChatNetwork["provider"]>>;
  const ask = (content = "Once upon a time") => ({ model: net.model.name, messages: [{ role: "user" as const, content }] });

  /** What the gateway has spent on its channel to `to` for `modelId`, and what that provider says it is owed. */
  const money = (p: { address: Address; store: typeof provider.store }, modelId: bigint, g = gateway) => {
    const channel = g.store.getChannel(g.channels.channelIdFor(p.address, modelId));
    return { spent: channel?.spent ?? 0n, owed: channel ? p.store.getChannel(channel.channelId, channel.epoch).owed : 0n, deposit: channel?.deposit ?? 0n };
  };

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    gateway = await net.gateway();
    client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: "not-needed" });
  });
  afterAll(() => net?.stop());

  it("answers n = 3 with three indexed choices, every one billed, to the base unit", async () => {
    const greedy = { ...ask(), max_tokens: 24, temperature: 0 };
    const one = await client.chat.completions.create(greedy);
    const before = money(provider, net.modelId).spent;
    const { data: three, response } = await client.chat.completions.create({ ...greedy, n: 3 }).withResponse();
    expect(three.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    // Greedy decoding: each choice is the single answer again, so each was generated whole.
    for (const c of three.choices) expect(c.message.content).toBe(one.choices[0]!.message.content);
    // The prompt is billed once, as the OpenAI API does; the output of every choice.
    expect(three.usage!.prompt_tokens).toBe(one.usage!.prompt_tokens);
    expect(three.usage!.completion_tokens).toBe(3 * one.usage!.completion_tokens);
    const summary = (three as unknown as { gotong: Summary }).gotong;
    expect(summary.outputTokens).toBe(three.usage!.completion_tokens);
    expect(Number(response.headers.get("x-gotong-output-tokens"))).toBe(three.usage!.completion_tokens);
    const cost = computeCost(DEFAULT_PRICE, { inputTokens: summary.inputTokens, outputTokens: summary.outputTokens });
    expect(BigInt(summary.cost)).toBe(cost);
    const after = money(provider, net.modelId);
    expect(after.spent - before).toBe(cost);
    expect(after.owed).toBe(after.spent);

    // Sampled: the choices are drawn independently.
    const sampled = await client.chat.completions.create({ ...ask(), max_tokens: 24, temperature: 1.5, n: 4 });
    expect(sampled.choices).toHaveLength(4);
    expect(new Set(sampled.choices.map((c) => c.message.content)).size, "four sampled choices were identical").toBeGreaterThan(1);
  });

  it("streams n = 2 with each chunk's choice index, both choices finished, and a receipt counting both", async () => {
    const greedy = { ...ask("Tell me a story"), max_tokens: 20, temperature: 0 };
    const one = await client.chat.completions.create(greedy);
    const before = money(provider, net.modelId).spent;
    const texts = ["", ""];
    const finishes: (string | null)[] = [null, null];
    const roles: number[] = [];
    let last: unknown;
    for await (const chunk of await client.chat.completions.create({ ...greedy, n: 2, stream: true })) {
      for (const c of chunk.choices) {
        texts[c.index] += c.delta?.content ?? "";
        if (c.delta?.role === "assistant") roles.push(c.index);
        if (c.finish_reason) finishes[c.index] = c.finish_reason;
      }
      last = chunk;
    }
    expect(roles).toEqual([0, 1]);
    expect(texts).toEqual([one.choices[0]!.message.content, one.choices[0]!.message.content]);
    expect(finishes).toEqual([one.choices[0]!.finish_reason, one.choices[0]!.finish_reason]);
    // The receipt counts both choices, and the gateway checked it against the text of both.
    const summary = (last as { gotong: Summary }).gotong;
    expect(summary.outputTokens).toBe(2 * one.usage!.completion_tokens);
    const after = money(provider, net.modelId);
    expect(after.spent - before).toBe(BigInt(summary.cost));
    expect(after.owed).toBe(after.spent);
  });

  it("returns each token's log probability and its top alternatives in the API's shape, streamed and not", async () => {
    const request = { ...ask(), max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 2 };
    const answer = await client.chat.completions.create(request);
    const content = answer.choices[0]!.logprobs!.content as TokenLogprob[];
    expect(content).toHaveLength(answer.usage!.completion_tokens);
    expect(Buffer.from(content.flatMap((t) => t.bytes ?? [])).toString("utf8")).toBe(answer.choices[0]!.message.content);
    for (const t of content) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs).toHaveLength(2);
      expect(t.top_logprobs[0]!.logprob).toBeGreaterThanOrEqual(t.top_logprobs[1]!.logprob);
      expect(t.top_logprobs[0]!.token).toBe(t.token); // greedy: the likeliest token was taken
    }
    const streamed: TokenLogprob[] = [];
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
      streamed.push(...((chunk.choices[0]?.logprobs?.content ?? []) as TokenLogprob[]));
    }
    expect(streamed.map((t) => t.token)).toEqual(content.map((t) => t.token));
    expect(streamed.map((t) => t.logprob)).toEqual(content.map((t) => t.logprob));
    // Without logprobs, none.
    expect((await client.chat.completions.create({ ...ask(), max_tokens: 4 })).choices[0]!.logprobs).toBeNull();

    // Completions: logprobs N, in that API's shape.
    const completion = await client.completions.create({ model: net.model.name, prompt: "The little dog", max_tokens: 10, temperature: 0, logprobs: 2 });
    const lp = completion.choices[0]!.logprobs!;
    expect(lp.tokens!.length).toBe(completion.usage!.completion_tokens);
    expect(lp.token_logprobs!.length).toBe(lp.tokens!.length);
    expect(lp.text_offset![0]).toBe(0);
    for (const [i, top] of lp.top_logprobs!.entries()) {
      expect(Object.keys(top).length).toBeGreaterThan(0);
      expect(Object.keys(top).length).toBeLessThanOrEqual(2);
      expect(Math.max(...Object.values(top))).toBeCloseTo(lp.token_logprobs![i]!, 5);
    }
  });

  it("answers n = 2 with a required function call as two calls, streamed and not, each billed", async () => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { enum: ["Paris", "Lima"] } }, required: ["city"], additionalProperties: false } } }];
    const request = { ...ask("What is the weather in Paris?"), tools, tool_choice: "required" as const, max_tokens: 200, n: 2, seed: 7 };
    const answer = await client.chat.completions.create(request);
    expect(answer.choices.map((c) => [c.index, c.finish_reason])).toEqual([[0, "tool_calls"], [1, "tool_calls"]]);
    for (const c of answer.choices) expect(["Paris", "Lima"]).toContain((JSON.parse((c.message.tool_calls![0] as { function: { arguments: string } }).function.arguments) as { city: string }).city);
    const calls = ["", ""];
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
      for (const c of chunk.choices) for (const d of c.delta?.tool_calls ?? []) calls[c.index] += d.function?.arguments ?? "";
    }
    for (const args of calls) expect(Object.keys(JSON.parse(args) as object)).toEqual(["city"]);
  });

  it("refuses n above the limit with a 400 that says the limit", async () => {
    await expect(client.chat.completions.create({ ...ask(), n: MAX_CHOICES + 1 })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining(`"n" must be a number from 1 to ${MAX_CHOICES}`),
    });
  });

  describe("without max_tokens", () => {
    const tiny = sharedModel("tinyRandom");
    const CONTEXT = 1024;
    let tinyName: string;
    let tinyId: bigint;
    let tinyProvider: Awaited<ReturnType<ChatNetwork["provider"]>>;
    // A gateway whose deposits are sized for a 512-token answer: it must escrow the real worst case itself.
    const sized512 = computeCost(DEFAULT_PRICE, { inputTokens: 200, outputTokens: 512 });
    let small: Awaited<ReturnType<ChatNetwork["gateway"]>>;
    let smallClient: OpenAI;

    beforeAll(async () => {
      if (!tiny) return;
      tinyName = "tiny-random";
      tinyId = await net.publish(tiny, tinyName);
      // Random weights: an answer that runs until the context ends.
      tinyProvider = await net.provider(tiny, { modelId: tinyId, contextSize: CONTEXT });
      small = await net.gateway({ deposit: sized512 });
      smallClient = new OpenAI({ baseURL: small.baseUrl, apiKey: "not-needed" });
    });

    it.skipIf(!tiny)("generates past 512 tokens to the context's end, paid from a deposit sized for 512 tokens", async () => {
      // Greedy, so the run is the same every time: this prompt's answer never ends by itself.
      const answer = await smallClient.chat.completions.create({ model: tinyName, messages: [{ role: "user", content: "Hello there" }], temperature: 0 });
      const choice = answer.choices[0]!;
      expect(choice.finish_reason).toBe("length");
      expect(answer.usage!.completion_tokens).toBe(CONTEXT - answer.usage!.prompt_tokens);
      expect(answer.usage!.completion_tokens).toBeGreaterThan(512);
      const paid = money(tinyProvider, tinyId, small);
      const summary = (answer as unknown as { gotong: Summary }).gotong;
      expect(paid.spent).toBe(BigInt(summary.cost));
      expect(paid.owed).toBe(paid.spent);
      // The deposit covers what the provider's payment guard asks for a request that may fill the context.
      expect(paid.deposit).toBeGreaterThan(sized512);
      expect(paid.deposit).toBeGreaterThanOrEqual(computeCost(DEFAULT_PRICE, { inputTokens: answer.usage!.prompt_tokens, outputTokens: CONTEXT - answer.usage!.prompt_tokens }));
      // A capped request on the same channel is still served as asked.
      const capped = await smallClient.chat.completions.create({ model: tinyName, messages: [{ role: "user", content: "Hello" }], max_tokens: 16 });
      expect(capped.usage!.completion_tokens).toBe(16);
    });

    it.skipIf(!tiny)("refuses a prompt longer than the context without naming a max_tokens the client never sent", async () => {
      const error = (await smallClient.chat.completions
        .create({ model: tinyName, messages: [{ role: "user", content: "word ".repeat(1500) }] })
        .then(() => undefined, (e: unknown) => e)) as { status?: number; message?: string; code?: string } | undefined;
      expect(error?.status).toBe(400);
      expect(error?.code).toBe("context_length_exceeded");
      expect(error?.message).toContain(`the model's context of ${CONTEXT}`);
      expect(error?.message).not.toContain("max_tokens");
    });
  });
});
