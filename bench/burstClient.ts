/**
 * The client side of bench/burst.ts, run in a process of its own so that its work (opening sockets,
 * writing requests, reading answers) is not on the gateway's event loop, nor the gateway's on its.
 * It opens every connection before the burst (node:http keep-alive Agent, one idle socket per
 * request, warmed with GET /v1/models), then sends all the chat requests at once and reports, for
 * each, when it was sent and answered (absolute epoch milliseconds, comparable with the server's
 * records), its status, Retry-After and the cost it was told. Prints one JSON object on stdout.
 *
 *   node --import tsx bench/burstClient.ts '{"baseUrl":"http://127.0.0.1:8600/v1","model":"m","count":650,"maxTokens":4,"first":10,"burst":"gateway-650"}'
 */
import { realpathSync } from "node:fs";
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { readCost } from "../test/helpers/readCost.ts";

/** What the parent asks for. */
export type BurstClientConfig = {
  baseUrl: string;
  model: string;
  count: number;
  maxTokens: number;
  /** The index of the first request (indices stay unique over a run, and say which are streamed). */
  first: number;
  /** A name for this burst, sent with each request so the server's timing hook can tell bursts apart. */
  burst: string;
  /**
   * Open no connection before the burst: every request opens its own at once, as a crowd of new
   * clients would (this is where the listen backlog matters). Default false.
   */
  cold?: boolean;
  /**
   * A sustained overload instead of a burst: the `count` requests are sent at this rate, each at
   * its moment whatever the answers so far (open loop, as independent clients arrive), on
   * `sockets` connections opened before (default 256).
   */
  ratePerSecond?: number;
  sockets?: number;
  timeoutMs?: number;
};

/** One request as this client saw it. */
export type ClientRecord = {
  index: number;
  stream: boolean;
  sentAt: number;
  /** When the status line and headers arrived. */
  headersAt: number;
  /** When the whole answer had been read. */
  endedAt: number;
  status: number;
  code?: string;
  retryAfter: string | null;
  /** The cost the client was told (decimal base units), when it was told one. */
  cost?: string;
  streamError?: string;
  reusedSocket: boolean;
  error?: string;
  /** At a rate: how late the client sent it against its moment (its own event loop's lag), ms. */
  lateMs?: number;
};

const now = () => performance.timeOrigin + performance.now();

/** Sends one request on `agent` and reads its answer to the end. */
function send(agent: Agent, url: URL, method: string, body: string | undefined, headers: Record<string, string>, timeoutMs: number) {
  return new Promise<{ status: number; headers: Record<string, string>; text: string; headersAt: number; reusedSocket: boolean }>((resolve, reject) => {
    const req = request(url, { agent, method, headers: body === undefined ? headers : { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }, timeout: timeoutMs }, (res) => {
      const headersAt = now();
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)])),
          text: Buffer.concat(chunks).toString("utf8"),
          headersAt,
          reusedSocket: req.reusedSocket,
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Opens the connections, fires the burst, returns every request's record. */
export async function runBurstClient(config: BurstClientConfig): Promise<{ records: ClientRecord[]; socketsOpened: number }> {
  const timeoutMs = config.timeoutMs ?? 60_000;
  // A burst: one idle socket per request, kept open between the warm-up and the burst (unless cold).
  const sockets = config.ratePerSecond ? Math.min(config.count, config.sockets ?? 256) : config.count;
  // At a rate, more requests than sockets may be outstanding only if answers lag; they then queue
  // in the agent (FIFO) and that wait counts in the client's time, as it would for a real client.
  const agent = new Agent({ keepAlive: !config.cold, maxSockets: config.ratePerSecond ? sockets : Infinity, maxFreeSockets: sockets, scheduling: "fifo" });
  const models = new URL(`${config.baseUrl}/models`);
  if (!config.cold) await Promise.all(Array.from({ length: sockets }, () => send(agent, models, "GET", undefined, {}, timeoutMs)));
  const socketsOpened = Object.values(agent.freeSockets).reduce((a, list) => a + (list?.length ?? 0), 0);
  const chat = new URL(`${config.baseUrl}/chat/completions`);
  const fire = async (k: number, dueAt?: number): Promise<ClientRecord> => {
    const index = config.first + k;
    const stream = index % 2 === 1;
    const body = JSON.stringify({ model: config.model, messages: [{ role: "user", content: `Once upon a time (${index})` }], max_tokens: config.maxTokens, stream });
    const sentAt = now();
    const lateMs = dueAt === undefined ? undefined : sentAt - dueAt;
    try {
      const res = await send(agent, chat, "POST", body, { "x-gotong-bench-burst": `${config.burst}:${index}`, "x-gotong-bench-size": String(config.count) }, timeoutMs);
      const record: ClientRecord = { index, stream, sentAt, headersAt: res.headersAt, endedAt: now(), status: res.status, retryAfter: res.headers["retry-after"] ?? null, reusedSocket: res.reusedSocket, lateMs };
      if (res.status !== 200) {
        record.code = ((JSON.parse(res.text || "{}") as { error?: { code?: string } }).error?.code) ?? "?";
        if (res.headers["x-gotong-cost"] !== undefined) record.cost = res.headers["x-gotong-cost"];
        return record;
      }
      const told = await readCost(new Response(res.text, { headers: res.headers }));
      if (told.cost !== undefined) record.cost = told.cost.toString();
      if (told.streamError !== undefined) record.streamError = told.streamError;
      return record;
    } catch (error) {
      return { index, stream, sentAt, headersAt: NaN, endedAt: now(), status: 0, retryAfter: null, reusedSocket: false, error: (error as Error).message, lateMs };
    }
  };
  let records: ClientRecord[];
  if (!config.ratePerSecond) records = await Promise.all(Array.from({ length: config.count }, (_, k) => fire(k)));
  else {
    // Open loop: request k is due at start + k / rate; the loop sleeps only when ahead of time.
    const start = now() + 20;
    const pending: Promise<ClientRecord>[] = [];
    for (let k = 0; k < config.count; k++) {
      const dueAt = start + (k * 1000) / config.ratePerSecond;
      const ahead = dueAt - now();
      if (ahead >= 1) await new Promise((r) => setTimeout(r, ahead));
      pending.push(fire(k, dueAt));
    }
    records = await Promise.all(pending);
  }
  agent.destroy();
  return { records, socketsOpened };
}

if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  const config = JSON.parse(process.argv[2] ?? "") as BurstClientConfig;
  process.stdout.write(JSON.stringify(await runBurstClient(config)) + "\n");
}
