import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { PROTOCOL_VERSION_HEADERS } from "../protocol/protocolVersion.ts";

/** The part of a response the gateway reads from a provider. */
export type UpstreamResponse = {
  status: number;
  header(name: string): string | undefined;
  json(): Promise<unknown>;
  bytes(): Promise<Buffer>;
  /** The body as it arrives; iterate once. */
  body: AsyncIterable<Buffer>;
};

// Keep-alive pools: a request to a provider reuses a warm connection instead of a new handshake.
// No cap on sockets per provider: a request waiting for a pooled socket would wait unseen by the
// provider (a cap of 64 held 1,000 streams to 64 at a time, and the last ones timed out before
// they were sent). The provider bounds what it takes itself and answers 503 busy beyond that.
// `timeout` makes node's agent heed the provider's `Keep-Alive: timeout=N` (Gotong's servers say 5):
// an idle socket is closed a second before the provider would close it, so a request is never
// written into a socket the provider is closing (read ECONNRESET, seen with 1,000 sockets idle
// while channels opened). It also bounds how long a socket with no answer at all stays idle.
const agentOptions = { keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, timeout: 60_000 };
const httpAgent = new HttpAgent(agentOptions);
const httpsAgent = new HttpsAgent(agentOptions);

/**
 * POSTs to a provider with node's own HTTP client. For streams of many small SSE events it costs far
 * less per event than `fetch` (measured in bench/), and the token stream is the hot path. Every
 * request says which wire protocol version it speaks, so a provider of another version refuses it.
 */
export function postUpstream(url: string, headers: Record<string, string>, body: Buffer, signal: AbortSignal): Promise<UpstreamResponse> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      { method: "POST", headers: { ...PROTOCOL_VERSION_HEADERS, ...headers, "content-length": String(body.length) }, signal, agent: target.protocol === "https:" ? httpsAgent : httpAgent },
      (res: IncomingMessage) => {
        const bytes = async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks);
        };
        resolve({
          status: res.statusCode ?? 0,
          header: (name) => {
            const value = res.headers[name.toLowerCase()];
            return Array.isArray(value) ? value[0] : value;
          },
          json: async () => JSON.parse((await bytes()).toString("utf8")),
          bytes,
          body: res,
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
