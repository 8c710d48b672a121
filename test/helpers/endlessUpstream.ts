import type { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Resolves on the first of `events`, and removes its listeners (a long stream waits thousands of times). */
function once(emitter: EventEmitter, ...events: string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const e of events) emitter.off(e, done);
      resolve();
    };
    for (const e of events) emitter.on(e, done);
  });
}

export type EndlessUpstream = { server: Server; url: string; written: () => number; open: () => number };

/**
 * An OpenAI-compatible upstream that streams one token per chunk until it is told to stop, its
 * reader stops reading (it honours backpressure, as a real engine's HTTP server does) or
 * `max_tokens` is reached; asked to "break off" in a message, it drops the connection after 50.
 */
export function startEndlessUpstream(): Promise<EndlessUpstream> {
  let written = 0;
  let open = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (b) => (body += b));
    req.on("end", async () => {
      const request = JSON.parse(body) as { max_tokens: number; messages?: unknown };
      const limit = JSON.stringify(request.messages ?? "").includes("break off") ? 50 : request.max_tokens;
      open++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      let closed = false;
      res.on("close", () => {
        closed = true;
        open--;
      });
      const chunk = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: " word" }, finish_reason: null }] })}\n\n`;
      for (let n = 0; !closed && n < limit; n++) {
        written++;
        if (!res.write(chunk)) await once(res, "drain", "close");
      }
      if (closed) return;
      if (limit < request.max_tokens) res.socket?.end(); // what was written arrives, then the stream breaks off
      else res.end(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: limit } })}\n\ndata: [DONE]\n\n`);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, written: () => written, open: () => open })),
  );
}
