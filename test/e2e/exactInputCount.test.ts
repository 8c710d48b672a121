import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { createPromptCounter, type PromptCounter } from "../../src/gateway/createPromptCounter.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { hashFile } from "../../src/model/hashFile.ts";
import type { InferenceBackend } from "../../src/provider/backend.ts";
import { createLlamaBackend } from "../../src/provider/createLlamaBackend.ts";
import { startProvider, type RunningProvider } from "../../src/provider/startProvider.ts";
import { startChatNetwork, DEFAULT_PRICE, UNIT, quietLogger, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";

/**
 * With the model's GGUF at hand, the gateway counts the prompt's tokens itself, exactly as the
 * provider's engine renders them, and refuses a receipt that bills even one input token more.
 */

/** The embedded engine, reporting `extra` more prompt tokens than it evaluates: a provider that pads its bills. */
function padded(backend: InferenceBackend, extra: number): InferenceBackend {
  return {
    engine: backend.engine,
    contextSize: backend.contextSize,
    capabilities: backend.capabilities,
    prepare: async (request) => {
      const prepared = await backend.prepare(request);
      return { ...prepared, inputTokens: prepared.inputTokens + extra };
    },
    dispose: () => backend.dispose(),
  };
}

describe("exact prompt counts from the model's own tokenizer", () => {
  let net: ChatNetwork;
  let counter: PromptCounter;
  let weightsHash: Hex;
  const gateways: RunningGateway[] = [];
  const providers: RunningProvider[] = [];

  async function gateway(tokenizerFiles: string[]) {
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    const g = await startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: key, port: 0, tokenizerFiles, logger: quietLogger() });
    gateways.push(g);
    await g.promptCounterReady;
    return g;
  }

  async function provider(extra: number) {
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    const p = await startProvider({
      home: net.home,
      deployment: net.devnet.deployment,
      privateKey: key,
      modelPath: net.model.path,
      price: DEFAULT_PRICE,
      port: 0,
      redeemIntervalMs: 3_600_000,
      backend: padded(await createLlamaBackend({ modelPath: net.model.path, threads: 1 }), extra),
      logger: quietLogger(),
    });
    providers.push(p);
    return p;
  }

  beforeAll(async () => {
    net = await startChatNetwork();
    counter = await createPromptCounter([net.model.path], quietLogger());
    weightsHash = `0x${await hashFile(net.model.path)}`;
  });
  afterAll(async () => {
    for (const g of gateways) await g.stop().catch(() => {});
    for (const p of providers) await p.stop().catch(() => {});
    await counter?.dispose();
    await net?.stop();
  });

  const messages = [
    { role: "system", content: "You tell short stories." },
    { role: "user", content: "Once upon a time, a little girl named Lily" },
  ];

  it("an honest provider's input count is the gateway's own, to the token", async () => {
    const honest = await provider(0);
    const g = await gateway([net.model.path]);
    const res = await postChat(g.baseUrl, net.model.name, "", { messages, max_tokens: 4 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { prompt_tokens: number } };
    const expected = counter.count(weightsHash, { model: net.model.name, messages });
    expect(expected).toBeGreaterThan(5);
    expect(body.usage.prompt_tokens).toBe(expected);
    expect(Number(res.headers.get("x-gotong-input-tokens"))).toBe(expected);
    await honest.stop();
  }, 120_000);

  it("one padded input token is refused with the tokenizer at hand, and passes the byte bound without it", async () => {
    await provider(1);
    const exact = await gateway([net.model.path]);
    const refused = await postChat(exact.baseUrl, net.model.name, "", { messages, max_tokens: 4 });
    const error = (await refused.json()) as { error: { message: string; hint?: string } };
    expect(refused.status, JSON.stringify(error)).toBe(502);
    expect(error.error.message).toMatch(/bills \d+ input tokens but the prompt sent holds at most \d+/);
    // Nothing was paid for the refused receipt.
    expect(exact.store.listReceipts(10)).toEqual([]);

    const bytesOnly = await gateway([]);
    const accepted = await postChat(bytesOnly.baseUrl, net.model.name, "", { messages, max_tokens: 4 });
    expect(accepted.status).toBe(200);
    const body = (await accepted.json()) as { usage: { prompt_tokens: number } };
    expect(body.usage.prompt_tokens).toBe(counter.count(weightsHash, { model: net.model.name, messages })! + 1);
  }, 120_000);
});
