import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createReader, rpcUrlsOf } from "./createClients.ts";

/** A JSON-RPC endpoint on 127.0.0.1 answering eth_blockNumber with `block`, or never answering. */
async function endpoint(behaviour: { block?: number; hang?: boolean; status?: number }) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const call = JSON.parse(body) as { id: number; method: string };
      seen.push(call.method);
      if (behaviour.hang) return;
      if (behaviour.status) return res.writeHead(behaviour.status, { "retry-after": "0" }).end();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result: `0x${(behaviour.block ?? 1).toString(16)}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

describe("chain connections over several RPC endpoints", () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const e of open.splice(0)) await e.close();
  });

  it("lists the first URL first and each URL once", () => {
    expect(rpcUrlsOf({ rpcUrl: "http://a", rpcUrls: ["http://b", "http://a", "http://c"] })).toEqual(["http://a", "http://b", "http://c"]);
    expect(rpcUrlsOf({ rpcUrl: "http://a" })).toEqual(["http://a"]);
  });

  it("answers from the next endpoint when the first hangs, and passes the hanging one over on later calls", async () => {
    const hanging = await endpoint({ hang: true });
    const good = await endpoint({ block: 7 });
    open.push(hanging, good);
    const reader = createReader({ rpcUrl: hanging.url, rpcUrls: [hanging.url, good.url], chainId: 4242, timeoutMs: 300, retryCount: 0 });
    expect(await reader.getBlockNumber({ cacheTime: 0 })).toBe(7n);
    expect(hanging.seen).toEqual(["eth_blockNumber"]);
    for (let i = 0; i < 5; i++) expect(await reader.getBlockNumber({ cacheTime: 0 })).toBe(7n);
    expect(hanging.seen, "not asked again while it cools down").toHaveLength(1);
    expect(good.seen).toHaveLength(6);
  });

  it("retries a rate-limited endpoint, and goes to the next when every try is refused", async () => {
    const limited = await endpoint({ status: 429 });
    const good = await endpoint({ block: 9 });
    open.push(limited, good);
    const single = createReader({ rpcUrl: limited.url, chainId: 4242, timeoutMs: 300, retryCount: 2 });
    await expect(single.getBlockNumber({ cacheTime: 0 })).rejects.toThrow(/429|HTTP request failed/);
    expect(limited.seen, "tried three times").toHaveLength(3);
    const both = createReader({ rpcUrl: limited.url, rpcUrls: [limited.url, good.url], chainId: 4242, timeoutMs: 300, retryCount: 2 });
    expect(await both.getBlockNumber({ cacheTime: 0 })).toBe(9n);
  });

  it("still asks a cooling endpoint when every endpoint is cooling: nothing else could answer", async () => {
    const a = await endpoint({ status: 503 });
    const b = await endpoint({ status: 503 });
    open.push(a, b);
    const reader = createReader({ rpcUrl: a.url, rpcUrls: [a.url, b.url], chainId: 4242, timeoutMs: 300, retryCount: 0 });
    await expect(reader.getBlockNumber({ cacheTime: 0 })).rejects.toThrow();
    await expect(reader.getBlockNumber({ cacheTime: 0 })).rejects.toThrow();
    expect([a.seen.length, b.seen.length]).toEqual([2, 2]);
  });
});
