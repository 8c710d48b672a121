import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";

describe("the official openai client, with only its base URL changed", () => {
  let net: ChatNetwork;
  let client: OpenAI;

  beforeAll(async () => {
    net = await startChatNetwork();
    await net.provider(net.model.path);
    const gateway = await net.gateway();
    client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: "not-needed" });
  });
  afterAll(() => net?.stop());

  it("lists the model on offer", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toContain(net.model.name);
  });

  it("retrieves one model by id, and answers 404 for one not on offer", async () => {
    const model = await client.models.retrieve(net.model.name);
    expect(model.id).toBe(net.model.name);
    expect((model as unknown as { gotong: { providers: number } }).gotong.providers).toBe(1);
    await expect(client.models.retrieve("no-such-model")).rejects.toMatchObject({ status: 404 });
  });

  it("gets a non-streamed chat completion whose text came from the model", async () => {
    const { data: completion, response } = await client.chat.completions
      .create({ model: net.model.name, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 40, temperature: 0 })
      .withResponse();
    const text = completion.choices[0]!.message.content ?? "";
    expect(text.trim().length).toBeGreaterThan(0);
    if (net.model.real) expect(text).toMatch(/[a-z]{3,} [a-z]{2,}/i); // stories260K writes words
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(40);
    // Cost, tokens and the receipt's id come back in headers.
    expect(BigInt(response.headers.get("x-gotong-cost")!)).toBeGreaterThan(0n);
    expect(response.headers.get("x-gotong-receipt-id")).toMatch(/^0x[0-9a-f]{64}$/);
    expect(Number(response.headers.get("x-gotong-output-tokens"))).toBe(completion.usage!.completion_tokens);
  });

  it("streams a chat completion and ends with the receipt", async () => {
    const stream = await client.chat.completions.create({
      model: net.model.name,
      messages: [{ role: "user", content: "Tell me a story" }],
      max_tokens: 40,
      stream: true,
    });
    let text = "";
    let chunks = 0;
    let last: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      chunks++;
      last = chunk;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text.trim().length).toBeGreaterThan(0);
    const gotong = (last as { gotong?: { receiptId: string; cost: string; outputTokens: number } }).gotong;
    expect(gotong?.receiptId).toMatch(/^0x[0-9a-f]{64}$/);
    expect(BigInt(gotong!.cost)).toBeGreaterThan(0n);
  });

  it("sends usage once, on a last chunk without choices, only when include_usage asks for it", async () => {
    const read = async (includeUsage: boolean) => {
      const stream = await client.chat.completions.create({
        model: net.model.name,
        messages: [{ role: "user", content: "Tell me a story" }],
        max_tokens: 20,
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      const chunks: { choices: unknown[]; usage?: { completion_tokens: number } | null; gotong?: { outputTokens: number; receiptId?: string } }[] = [];
      for await (const chunk of stream) chunks.push(chunk as never);
      return chunks;
    };
    const withUsage = await read(true);
    const carrying = withUsage.filter((c) => c.usage);
    expect(carrying).toHaveLength(1);
    expect(carrying[0]).toBe(withUsage.at(-1));
    expect(carrying[0]!.choices).toEqual([]);
    const receipt = withUsage.find((c) => c.gotong?.receiptId)!.gotong!;
    expect(carrying[0]!.usage!.completion_tokens).toBe(receipt.outputTokens);
    expect((await read(false)).filter((c) => c.usage)).toEqual([]);
  });

  it("stops on a stop string with a space in it, streamed and not, without sending it", async () => {
    const ask = { model: net.model.name, messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 40, temperature: 0 };
    const free = (await client.chat.completions.create(ask)).choices[0]!.message.content ?? "";
    const words = free.split(" ");
    expect(words.length, free).toBeGreaterThan(5);
    const stop = `${words[2]} ${words[3]}`;
    const before = free.slice(0, free.indexOf(stop));
    const stopped = await client.chat.completions.create({ ...ask, stop: [stop] });
    expect(stopped.choices[0]!.message.content).toBe(before);
    expect(stopped.choices[0]!.finish_reason).toBe("stop");
    let streamed = "";
    for await (const chunk of await client.chat.completions.create({ ...ask, stop, stream: true })) streamed += chunk.choices[0]?.delta?.content ?? "";
    expect(streamed).toBe(before);
  });

  it("returns JSON that parses and matches the schema with response_format json_schema, streamed and not", async () => {
    const schema = {
      type: "object",
      properties: { mood: { enum: ["happy", "sad", "sleepy"] }, hungry: { type: "boolean" }, friends: { type: "array", items: { enum: ["cat", "dog"] }, maxItems: 3 } },
      required: ["mood", "hungry", "friends"],
      additionalProperties: false,
    };
    const ask = {
      model: net.model.name,
      messages: [{ role: "user" as const, content: "How is the little dog? Answer in JSON." }],
      max_tokens: 60,
      response_format: { type: "json_schema" as const, json_schema: { name: "dog", schema, strict: true } },
    };
    const check = (text: string) => {
      const value = JSON.parse(text) as { mood: string; hungry: boolean; friends: string[] };
      expect(Object.keys(value).sort()).toEqual(["friends", "hungry", "mood"]);
      expect(["happy", "sad", "sleepy"]).toContain(value.mood);
      expect(typeof value.hungry).toBe("boolean");
      for (const f of value.friends) expect(["cat", "dog"]).toContain(f);
    };
    const answer = await client.chat.completions.create(ask);
    check(answer.choices[0]!.message.content!);
    expect(answer.choices[0]!.finish_reason).toBe("stop");
    let streamed = "";
    for await (const chunk of await client.chat.completions.create({ ...ask, stream: true })) streamed += chunk.choices[0]?.delta?.content ?? "";
    check(streamed);
    // json_object: any JSON object.
    const object = await client.chat.completions.create({ ...ask, max_tokens: 200, response_format: { type: "json_object" } });
    if (object.choices[0]!.finish_reason === "stop") expect(typeof JSON.parse(object.choices[0]!.message.content!)).toBe("object");
  });

  it("parses a structured answer with the SDK's own chat.completions.parse and a zod schema", async () => {
    const Dog = z.object({ mood: z.enum(["happy", "sad", "sleepy"]), hungry: z.boolean() });
    const answer = await client.chat.completions.parse({
      model: net.model.name,
      messages: [{ role: "user", content: "How is the little dog? Answer in JSON." }],
      max_tokens: 60,
      response_format: zodResponseFormat(Dog, "dog"),
    });
    const parsed = answer.choices[0]!.message.parsed;
    expect(parsed).not.toBeNull();
    expect(Dog.parse(parsed)).toEqual(parsed);
  });

  it("samples afresh without a seed (four requests at temperature 1 are not all one text) and repeats with one", async () => {
    const ask = { model: net.model.name, messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 24, temperature: 1 };
    const unseeded = await Promise.all([0, 1, 2, 3].map(() => client.chat.completions.create(ask)));
    expect(new Set(unseeded.map((a) => a.choices[0]!.message.content)).size).toBeGreaterThanOrEqual(2);
    const seeded = await Promise.all([0, 1].map(() => client.chat.completions.create({ ...ask, seed: 1234 })));
    expect(seeded[0]!.choices[0]!.message.content).toBe(seeded[1]!.choices[0]!.message.content);
    expect(seeded[0]!.choices[0]!.message.content!.length).toBeGreaterThan(0);
  });

  it("calls a function and answers with its result: call → tool result → answer, streamed and not", async () => {
    const tools = [
      {
        type: "function" as const,
        function: {
          name: "get_weather",
          description: "The weather in a city",
          parameters: { type: "object", properties: { city: { enum: ["Paris", "Lima"] }, unit: { enum: ["C", "F"] } }, required: ["city", "unit"], additionalProperties: false },
        },
      },
    ];
    const question = { role: "user" as const, content: "What is the weather in Paris?" };
    const ask = { model: net.model.name, messages: [question], tools, tool_choice: { type: "function" as const, function: { name: "get_weather" } }, max_tokens: 200, seed: 7 };
    const first = await client.chat.completions.create(ask);
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]! as { id: string; type: string; function: { name: string; arguments: string } };
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_weather");
    const args = JSON.parse(call.function.arguments) as { city: string; unit: string };
    expect(["Paris", "Lima"]).toContain(args.city);
    expect(["C", "F"]).toContain(args.unit);
    expect(BigInt(first.usage!.completion_tokens)).toBeGreaterThan(0n);

    // Streamed: the call arrives as tool_calls deltas that add up to the same kind of call.
    let name = "";
    let streamedArgs = "";
    let id = "";
    let finish: string | null = null;
    for await (const chunk of await client.chat.completions.create({ ...ask, stream: true })) {
      const delta = chunk.choices[0]?.delta;
      for (const d of delta?.tool_calls ?? []) {
        if (d.id) id = d.id;
        name += d.function?.name ?? "";
        streamedArgs += d.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(id).toMatch(/^call_/);
    expect(name).toBe("get_weather");
    expect(Object.keys(JSON.parse(streamedArgs) as object).sort()).toEqual(["city", "unit"]);
    expect(finish).toBe("tool_calls");

    // The tool's result goes back; the model answers in text.
    const answer = await client.chat.completions.create({
      model: net.model.name,
      tools,
      tool_choice: "none",
      max_tokens: 20,
      messages: [question, { role: "assistant", content: null, tool_calls: [call as never] }, { role: "tool", tool_call_id: call.id, content: "Sunny, 21 C" }],
    });
    expect(answer.choices[0]!.finish_reason).not.toBe("tool_calls");
    expect(typeof answer.choices[0]!.message.content).toBe("string");
  });

  it("answers a completion request too", async () => {
    const completion = await client.completions.create({ model: net.model.name, prompt: "The little dog", max_tokens: 20 });
    expect(completion.choices[0]!.text.length).toBeGreaterThan(0);
  });

  it("refuses an unknown model with a 404 naming it", async () => {
    await expect(client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining("no-such-model"),
    });
  });

  it("refuses a parameter it cannot honour instead of dropping it", async () => {
    await expect(
      client.chat.completions.create({ model: net.model.name, messages: [{ role: "user", content: "hi" }], n: 9 }),
    ).rejects.toMatchObject({ status: 400 });
  });
});
