import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProviderInfo, MAX_CONTEXT_TOKENS } from "./createProviderInfo.ts";
import type { Offer } from "./discoverOffers.ts";

describe("what a gateway reads from providers' /gotong/info", () => {
  let server: Server;
  let endpoint: string;
  let answers = 0;
  let status = 200;
  const models = [
    { modelId: "1", contextSize: 2048, weightType: "q4_k", engine: "llama.cpp", capabilities: ["chat", "tools", "teleport"] },
    { modelId: "2", contextSize: 10 ** 9 },
    { modelId: "3", contextSize: "big" },
  ];

  beforeAll(async () => {
    server = createServer((req, res) => {
      answers++;
      res.writeHead(req.url === "/gotong/info" ? status : 404, { "content-type": "application/json" });
      res.end(JSON.stringify({ models }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const offer = (modelId: bigint) => ({ endpoint, modelId, provider: "0x0000000000000000000000000000000000000001" }) as unknown as Offer;

  it("reads each provider's stated size once, caps an implausible one, and refuses one it does not state", async () => {
    let now = 0;
    const sizes = createProviderInfo({ ttlMs: 1_000, now: () => now });
    answers = 0;
    expect(await sizes.contextSizeOf(offer(1n))).toBe(2048);
    expect(await sizes.contextSizeOf(offer(2n))).toBe(MAX_CONTEXT_TOKENS);
    await expect(sizes.contextSizeOf(offer(3n))).rejects.toThrow("states no context size for model 3");
    await expect(sizes.contextSizeOf(offer(4n))).rejects.toThrow("states no context size for model 4");
    expect(answers).toBe(1);
    now = 2_000;
    expect(await sizes.contextSizeOf(offer(1n))).toBe(2048);
    expect(answers).toBe(2);
  });

  it("reads the rest of what a provider states, keeping only known capabilities, and gives undefined for what it cannot read", async () => {
    const info = createProviderInfo();
    expect(await info.of(offer(1n))).toEqual({ contextSize: 2048, weightType: "Q4_K", engine: "llama.cpp", capabilities: ["chat", "tools"] });
    expect(await info.of(offer(4n))).toBeUndefined();
    status = 500;
    expect(await createProviderInfo().of(offer(1n))).toBeUndefined();
    status = 200;
  });

  it("does not remember a failed read", async () => {
    const sizes = createProviderInfo();
    status = 500;
    await expect(sizes.contextSizeOf(offer(1n))).rejects.toThrow("answered 500");
    status = 200;
    expect(await sizes.contextSizeOf(offer(1n))).toBe(2048);
  });
});
