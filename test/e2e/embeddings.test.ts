import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { decodeEventLog, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { encodeVoucherHeader } from "../../src/protocol/voucher.ts";
import { computeCost, type Price } from "../../src/payments/price.ts";
import { decodeEmbeddingBase64 } from "../../src/protocol/parseEmbeddingRequest.ts";
import { startProvider, type RunningProvider } from "../../src/provider/startProvider.ts";
import { haveSharedModels, sharedModelPath } from "../fixtures/model/sharedModels.ts";
import { spawnGotong } from "../helpers/cli.ts";
import { freePort } from "../helpers/ports.ts";
import { startTapProxy } from "../helpers/tapProxy.ts";
import { quietLogger, startTestNetwork, UNIT, type TestNetwork } from "../helpers/network.ts";

/**
 * `/v1/embeddings` through the official openai client: a provider started with `embeddings: true`
 * (`gotong provider start --embeddings`) serves stories260K's embeddings, paid per input token
 * through the same channel, vouchers, receipts and split as chat; a chat-only model refuses them.
 */

// An input price that is not 1 per token, so costs are not just token counts.
const PRICE: Price = { pricePerMillionInput: 7_000_000n, pricePerMillionOutput: 2_000_000n };
const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);

describe.skipIf(!haveSharedModels())("embeddings, paid per input token", () => {
  let net: TestNetwork;
  let embedder: RunningProvider;
  let gateway: RunningGateway;
  let client: OpenAI;
  let vocab: LlamaModel;
  let storiesId: bigint;
  let tap: Awaited<ReturnType<typeof startTapProxy>>;
  // Every cost the gateway's clients were told, for the money identity at the end.
  const told: bigint[] = [];
  const stories = sharedModelPath("stories260K");
  const tinyRandom = sharedModelPath("tinyRandom");

  /** stories260K's own count for a text: its start token, then the text's tokens (its vocabulary adds no end token). */
  const tokensOf = (text: string) => 1 + vocab.tokenize(text, false).length;

  async function embed(body: OpenAI.EmbeddingCreateParams) {
    const { data, response } = await client.embeddings.create(body).withResponse();
    const cost = BigInt(response.headers.get("x-gotong-cost")!);
    told.push(cost);
    return { data, response, cost };
  }

  beforeAll(async () => {
    net = await startTestNetwork();
    storiesId = await net.publish(stories, "stories260K");
    await net.publish(tinyRandom, "tiny-random");
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    // Everything between the gateway and the embeddings provider passes through a tap.
    const port = await freePort();
    tap = await startTapProxy({ host: "127.0.0.1", port });
    embedder = await startProvider({
      home: net.home,
      deployment: net.devnet.deployment,
      privateKey: key,
      modelPath: stories,
      embeddings: true,
      price: PRICE,
      port,
      publicUrl: tap.url,
      threads: 1,
      redeemIntervalMs: 3_600_000,
      logger: quietLogger(),
    });
    await net.provider(tinyRandom); // chat only
    const gatewayKey = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(gatewayKey).address, { tokens: 1_000n * UNIT });
    gateway = await startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: gatewayKey, port: 0, tokenizerFiles: [stories], logger: quietLogger() });
    await gateway.promptCounterReady;
    client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: "not-needed", maxRetries: 0 });
    const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never, logger: () => {} });
    vocab = await llama.loadModel({ modelPath: stories, vocabOnly: true });
  }, 180_000);
  afterAll(async () => {
    await gateway?.stop().catch(() => {});
    await embedder?.stop().catch(() => {});
    await vocab?.dispose();
    await tap?.close();
    await net?.stop();
  });

  it("embeds two texts to vectors of one dimension, billed for exactly their input tokens", async () => {
    const texts = ["Once upon a time, there was a little girl named Lily.", "The dog ran to the park"];
    const { data: answer, response, cost } = await embed({ model: "stories260K", input: texts, encoding_format: "float" });
    expect(answer.object).toBe("list");
    expect(answer.model).toBe("stories260K");
    expect(answer.data.map((d) => [d.object, d.index])).toEqual([["embedding", 0], ["embedding", 1]]);
    const [a, b] = answer.data.map((d) => d.embedding);
    expect(a!.length).toBe(64);
    expect(b!.length).toBe(a!.length);
    expect(a).not.toEqual(b);
    // Unit vectors, as the API's are.
    expect(Math.hypot(...a!)).toBeCloseTo(1, 5);
    const tokens = tokensOf(texts[0]!) + tokensOf(texts[1]!);
    expect(answer.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    expect(Number(response.headers.get("x-gotong-input-tokens"))).toBe(tokens);
    expect(Number(response.headers.get("x-gotong-output-tokens"))).toBe(0);
    expect(cost).toBe(computeCost(PRICE, { inputTokens: tokens, outputTokens: 0 }));
    // The receipt the gateway checked and paid: the tokenizer's count in, nothing out.
    const receiptId = response.headers.get("x-gotong-receipt-id") as Hex;
    const paid = gateway.store.listReceipts(100).find((r) => r.receipt.requestId === receiptId)!;
    expect(paid.receipt.inputTokens).toBe(BigInt(tokens));
    expect(paid.receipt.outputTokens).toBe(0n);
    expect(paid.receipt.cost).toBe(cost);
    expect(paid.provider).toBe(embedder.address);
  });

  it("gives the same floats in base64 (the openai client's default) as in float", async () => {
    const input = "A big red ball";
    const float = (await embed({ model: "stories260K", input, encoding_format: "float" })).data.data[0]!.embedding;
    // Without encoding_format the client asks for base64 and decodes it itself.
    const byDefault = (await embed({ model: "stories260K", input })).data.data[0]!.embedding;
    expect(byDefault).toEqual(float);
    const base64 = (await embed({ model: "stories260K", input, encoding_format: "base64" })).data.data[0]!.embedding as unknown as string;
    expect(typeof base64).toBe("string");
    expect(Buffer.from(base64, "base64").length).toBe(64 * 4);
    expect(Array.from(decodeEmbeddingBase64(base64))).toEqual(float);
  });

  it("answers an array with one vector per item, in order, each as if embedded alone; token ids as their text", async () => {
    const texts = ["Lily", "The sun was hot", "Tom and his mom went to the store", "Lily"];
    const batch = (await embed({ model: "stories260K", input: texts, encoding_format: "float" })).data;
    expect(batch.data.map((d) => d.index)).toEqual([0, 1, 2, 3]);
    expect(batch.usage.prompt_tokens).toBe(texts.reduce((n, t) => n + tokensOf(t), 0));
    for (const [i, text] of texts.entries()) {
      const alone = (await embed({ model: "stories260K", input: text, encoding_format: "float" })).data.data[0]!.embedding;
      expect(batch.data[i]!.embedding).toEqual(alone);
    }
    expect(batch.data[3]!.embedding).toEqual(batch.data[0]!.embedding);
    const ids = vocab.tokenize(texts[1]!, false);
    const one = (await embed({ model: "stories260K", input: [...ids], encoding_format: "float" })).data;
    expect(one.data[0]!.embedding).toEqual(batch.data[1]!.embedding);
    expect(one.usage.prompt_tokens).toBe(ids.length + 1);
    const many = (await embed({ model: "stories260K", input: [[...ids], [...vocab.tokenize("Lily", false)]], encoding_format: "float" })).data;
    expect(many.data.map((d) => d.embedding)).toEqual([batch.data[1]!.embedding, batch.data[0]!.embedding]);
  });

  it("seals embeddings end to end: neither the text nor its vector crosses the wire in the clear", async () => {
    const sentBefore = tap.sent().length;
    const receivedBefore = tap.received().length;
    const canary = "The secret garden behind the old blue house";
    const vector = (await embed({ model: "stories260K", input: canary, encoding_format: "base64" })).data.data[0]!.embedding as unknown as string;
    const sent = tap.sent().subarray(sentBefore);
    const received = tap.received().subarray(receivedBefore);
    expect(sent.includes("application/gotong-sealed")).toBe(true);
    expect(sent.includes("secret garden")).toBe(false);
    expect(received.includes(vector.slice(0, 16))).toBe(false);
    expect(received.includes('"embedding"')).toBe(false);
  });

  it("honours dimensions at the model's size and refuses any other with a 400 naming it", async () => {
    const full = (await embed({ model: "stories260K", input: "Lily", dimensions: 64, encoding_format: "float" })).data.data[0]!.embedding;
    expect(full.length).toBe(64);
    const before = gateway.store.listReceipts(1000).length;
    const refused = await client.embeddings.create({ model: "stories260K", input: "Lily", dimensions: 32 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    const error = refused as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.param).toBe("dimensions");
    expect(error.message).toMatch(/64 dimensions and cannot be shortened to 32/);
    // Refused before any work: nothing billed.
    expect(gateway.store.listReceipts(1000).length).toBe(before);
  });

  it("refuses embeddings of a chat-only model, and chat of an embeddings-only one, with a clear 400", async () => {
    const refused = await client.embeddings.create({ model: "tiny-random", input: "Lily" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("capability_unavailable");
    expect((refused as Error).message).toMatch(/No provider of "tiny-random" offers embeddings/);
    const chat = await client.chat.completions.create({ model: "stories260K", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 }).catch((e: unknown) => e);
    expect(chat).toBeInstanceOf(OpenAI.BadRequestError);
    expect((chat as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("capability_unavailable");
    // The providers themselves refuse too, before asking for any payment.
    const direct = async (url: string, path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
    };
    const chatProvider = (await (await fetch(`${gateway.url}/gotong/offers`)).json()) as { data: { model: string; provider: string }[] };
    expect(chatProvider.data.some((o) => o.model === "tiny-random")).toBe(true);
    const toEmbedder = await direct(embedder.url, "/v1/chat/completions", { model: "stories260K", messages: [{ role: "user", content: "Hi" }] });
    expect(toEmbedder.status).toBe(400);
    expect(toEmbedder.body.error.code).toBe("capability_unavailable");
    const embedderOffer = (await (await fetch(`${embedder.url}/gotong/info`)).json()) as { models: { capabilities: string[] }[] };
    expect(embedderOffer.models[0]!.capabilities).toEqual(["embeddings"]);
  });

  it("pays overlapping requests on one channel exactly: told = spent = owed = redeemed = royalty + fee + provider share", async () => {
    const texts = Array.from({ length: 12 }, (_, i) => `Once upon a time there were ${i + 1} little cats`);
    const answers = await Promise.all(texts.map((text, i) => embed({ model: "stories260K", input: i % 3 === 0 ? [text, "Lily"] : text, ...(i % 2 ? { encoding_format: "float" as const } : {}) })));
    for (const [i, a] of answers.entries()) {
      const tokens = tokensOf(texts[i]!) + (i % 3 === 0 ? tokensOf("Lily") : 0);
      expect(a.data.usage.prompt_tokens).toBe(tokens);
      expect(a.cost).toBe(computeCost(PRICE, { inputTokens: tokens, outputTokens: 0 }));
    }
    await gateway.settle();
    const channels = gateway.store.listChannels().filter((c) => c.provider === embedder.address);
    expect(channels).toHaveLength(1);
    const channel = channels[0]!;
    expect(channel.modelId).toBe(storiesId);
    const spent = channel.spent;
    expect(sum(told)).toBe(spent);
    expect(sum(gateway.store.listReceipts(1000).map((r) => r.receipt.cost))).toBe(spent);
    expect(embedder.store.getChannel(channel.channelId, channel.epoch).owed).toBe(spent);
    const redeem = await embedder.redeemer.redeemNow();
    const onchain = await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channel.channelId);
    expect(onchain.redeemed).toBe(spent);
    const receipt = await net.creator.public.getTransactionReceipt({ hash: redeem.transactionHash! });
    const events = receipt.logs
      .filter((l) => l.address.toLowerCase() === net.devnet.deployment.paymentChannels.toLowerCase())
      .map((l) => decodeEventLog({ abi: PaymentChannelsArtifact.abi, data: l.data, topics: l.topics }))
      .filter((e) => e.eventName === "VoucherRedeemed")
      .map((e) => e.args as unknown as { channelId: Hex; amount: bigint; providerShare: bigint; royalty: bigint; fee: bigint });
    const split = events.find((e) => e.channelId.toLowerCase() === channel.channelId.toLowerCase())!;
    expect(split.amount).toBe(spent);
    // The split fixed when the channel opened: the model's royalty (1000 bps), the protocol fee, the rest to the provider.
    expect(onchain.royaltyBps).toBe(1000);
    expect(split.royalty).toBe((spent * BigInt(onchain.royaltyBps)) / 10_000n);
    expect(split.fee).toBe((spent * BigInt(onchain.feeBps)) / 10_000n);
    expect(split.royalty + split.fee + split.providerShare).toBe(spent);
    expect(split.royalty).toBeGreaterThan(0n);
  }, 120_000);

  // Last on this gateway's channel: the request served directly here is one the gateway never saw.
  it("admits embeddings as chat: a voucher first, then one unpaid request per channel", async () => {
    const body = JSON.stringify({ model: "stories260K", input: ["Once upon a time", "Lily"] });
    const post = (headers: Record<string, string>) =>
      fetch(`${embedder.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json", "x-gotong-request-id": `0x${randomBytes(32).toString("hex")}`, ...headers }, body });
    const unpaid = await post({});
    expect(unpaid.status).toBe(402);
    expect(((await unpaid.json()) as { error: { code: string } }).error.code).toBe("voucher_missing");

    const channel = gateway.store.listChannels().find((c) => c.provider === embedder.address)!;
    const voucher = encodeVoucherHeader(await gateway.channels.voucherFor(gateway.store.getChannel(channel.channelId)!));
    const owedBefore = embedder.store.getChannel(channel.channelId, channel.epoch).owed;
    const answers = await Promise.all(Array.from({ length: 8 }, () => post({ "x-gotong-voucher": voucher })));
    const served = answers.filter((r) => r.status === 200);
    expect(served).toHaveLength(1);
    for (const refused of answers.filter((r) => r.status !== 200)) {
      // Still running: busy; already answered: the voucher no longer pays for everything served.
      const code = ((await refused.json()) as { error: { code: string } }).error.code;
      expect([`429 channel_busy`, `402 voucher_below_owed`]).toContain(`${refused.status} ${code}`);
    }
    const cost = BigInt(served[0]!.headers.get("x-gotong-cost")!);
    expect(cost).toBe(computeCost(PRICE, { inputTokens: tokensOf("Once upon a time") + tokensOf("Lily"), outputTokens: 0 }));
    expect(embedder.store.getChannel(channel.channelId, channel.epoch).owed - owedBefore).toBe(cost);
  });

  it("bounds the input by its bytes when the gateway has no tokenizer, and still bills the exact count", async () => {
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    const bytesOnly = await startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: key, port: 0, tokenizerFiles: [], logger: quietLogger() });
    try {
      await bytesOnly.promptCounterReady;
      const other = new OpenAI({ baseURL: bytesOnly.baseUrl, apiKey: "not-needed", maxRetries: 0 });
      const answer = await other.embeddings.create({ model: "stories260K", input: ["Lily", "The sun was hot"] });
      expect(answer.usage.prompt_tokens).toBe(tokensOf("Lily") + tokensOf("The sun was hot"));
      expect(answer.data).toHaveLength(2);
    } finally {
      await bytesOnly.stop();
    }
  }, 60_000);

  it("`gotong provider start --embeddings` serves a model's embeddings beside another provider's chat of it", async () => {
    const keyFile = join(net.home.keys, "embeddings-cli.key");
    writeFileSync(keyFile, generatePrivateKey(), { mode: 0o600 });
    const child = spawnGotong(["provider", "start", "--model", tinyRandom, "--embeddings", "--home", net.home.root, "--key", keyFile, "--port", String(await freePort()), "--threads", "1"]);
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    let fresh: RunningGateway | undefined;
    const tiny = await (await getLlama({ gpu: false, build: "never", logLevel: "error" as never, logger: () => {} })).loadModel({ modelPath: tinyRandom, vocabOnly: true });
    try {
      await child.waitFor(/serving "tiny-random" embeddings/, 120_000);
      fresh = await startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: key, port: 0, tokenizerFiles: [tinyRandom], logger: quietLogger() });
      await fresh.promptCounterReady;
      const other = new OpenAI({ baseURL: fresh.baseUrl, apiKey: "not-needed", maxRetries: 0 });
      const answer = await other.embeddings.create({ model: "tiny-random", input: ["Lily", "The sun"] });
      expect(answer.data).toHaveLength(2);
      expect(answer.data[0]!.embedding.length).toBeGreaterThan(0);
      expect(answer.data[1]!.embedding.length).toBe(answer.data[0]!.embedding.length);
      expect(answer.usage.prompt_tokens).toBe(2 + tiny.tokenize("Lily", false).length + tiny.tokenize("The sun", false).length);
      // Chat of the same model still goes to the chat-only provider.
      const chat = await other.chat.completions.create({ model: "tiny-random", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 });
      expect(chat.choices[0]!.message.role).toBe("assistant");
    } finally {
      child.child.kill("SIGTERM");
      await child.exited;
      await fresh?.stop();
      await tiny.dispose();
    }
  }, 180_000);
});
