import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
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
      client.chat.completions.create({ model: net.model.name, messages: [{ role: "user", content: "hi" }], n: 3 }),
    ).rejects.toMatchObject({ status: 400 });
  });
});
