import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * What the proxy does to one call:
 * - `refuse`: 503, the node never sees it;
 * - `lose-answer`: the node does it, the caller gets 502;
 * - `rate-limit`: 429 with `Retry-After: 0`, the node never sees it;
 * - `hang`: no answer at all (the caller's timeout decides), the node never sees it;
 * - `drop`: the node does it, then the connection is cut with no answer (a host gone mid-call);
 * - `gone`: the connection is cut at once (a host that is not there).
 */
export type RpcFault = "refuse" | "lose-answer" | "rate-limit" | "hang" | "drop" | "gone" | undefined;

type RpcCall = { jsonrpc: "2.0"; id: number; method: string; params?: unknown[] };

/** Methods whose last parameter is a block tag that a lagging node answers from its own head. */
const AT_BLOCK = new Set(["eth_call", "eth_getBalance", "eth_getTransactionCount", "eth_getCode", "eth_getStorageAt", "eth_estimateGas", "eth_getBlockByNumber"]);

/**
 * A JSON-RPC proxy in front of a test chain that injects the faults of real RPC providers: refused
 * and rate-limited calls, answers that never come or are lost after the node acted, connections
 * cut mid-call, and a node that lags behind (`lagTo(block)`: every read answered as of that
 * block, transactions and receipts after it unseen, as a node still syncing answers). Only
 * 127.0.0.1 is used.
 */
export async function startFaultyRpc(target: string) {
  let fault: (method: string) => RpcFault = () => undefined;
  let staleBlock: bigint | undefined;
  const calls: string[] = [];
  const sockets = new Set<Socket>();

  const forward = async (call: RpcCall): Promise<{ status: number; body: unknown }> => {
    const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(call) });
    return { status: upstream.status, body: await upstream.json() };
  };

  /** The call as a node whose head is `block` answers it. */
  async function answerAsOf(call: RpcCall, block: bigint): Promise<{ status: number; body: unknown }> {
    const tag = `0x${block.toString(16)}`;
    if (call.method === "eth_blockNumber") return { status: 200, body: { jsonrpc: "2.0", id: call.id, result: tag } };
    const params = [...(call.params ?? [])];
    if (AT_BLOCK.has(call.method)) {
      const at = call.method === "eth_getBlockByNumber" ? 0 : call.method === "eth_estimateGas" || call.method === "eth_call" ? 1 : params.length - 1;
      const given = params[at];
      if (given === undefined || given === "latest" || given === "pending" || given === "safe" || given === "finalized") params[at] = tag;
      else if (typeof given === "string" && given.startsWith("0x") && BigInt(given) > block) params[at] = tag;
    }
    const answer = await forward({ ...call, params });
    if (call.method === "eth_getTransactionReceipt" || call.method === "eth_getTransactionByHash") {
      const result = (answer.body as { result?: { blockNumber?: string | null } | null }).result;
      if (result?.blockNumber && BigInt(result.blockNumber) > block) return { status: 200, body: { jsonrpc: "2.0", id: call.id, result: null } };
    }
    return answer;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const call = JSON.parse(body) as RpcCall;
    calls.push(call.method);
    const f = fault(call.method);
    if (f === "refuse") return res.writeHead(503).end();
    if (f === "rate-limit") return res.writeHead(429, { "retry-after": "0" }).end("rate limited");
    if (f === "gone") return req.socket.destroy();
    if (f === "hang") return; // the socket stays open until the caller gives up or the proxy closes
    const answer = staleBlock !== undefined && call.method !== "eth_sendRawTransaction" ? await answerAsOf(call, staleBlock) : await forward(call);
    if (f === "lose-answer") return res.writeHead(502).end();
    if (f === "drop") return req.socket.destroy();
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks).toString()).catch(() => req.socket.destroy());
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Picks the fault for each call by its method (undefined: pass it through). */
    setFault(f: (method: string) => RpcFault) {
      fault = f;
    },
    /** Answers every read as of `block` from now on (undefined: up to date again). */
    lagTo(block: bigint | undefined) {
      staleBlock = block;
    },
    /** Every method called through the proxy, in order. */
    calls,
    close: () =>
      new Promise<void>((r) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => r());
      }),
  };
}

/** Fails the first `times` calls of each method with `fault`, then passes them through. */
export function firstCalls(times: number, fault: RpcFault, methods?: string[]): (method: string) => RpcFault {
  const seen = new Map<string, number>();
  return (method) => {
    if (methods && !methods.includes(method)) return undefined;
    const n = (seen.get(method) ?? 0) + 1;
    seen.set(method, n);
    return n <= times ? fault : undefined;
  };
}
