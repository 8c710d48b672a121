/**
 * The floor under bench/burst.ts's refusals: a bare node:http server, in a process of its own, that
 * reads each request's body and answers 429 with Retry-After and a small OpenAI-style error, doing
 * nothing else (GET answers a tiny model list, for the client's connection warm-up). The same
 * client bursts it in the same run, so what Node's HTTP stack and this machine cost, at that
 * moment, is measured beside what the gateway costs. Prints its port on stdout, then serves until
 * killed.
 */
import { createServer } from "node:http";

const server = createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"object":"list","data":[]}');
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const body = JSON.stringify({ error: { message: "busy", type: "rate_limit_error", code: "too_many_requests", param: null } });
    res.writeHead(429, { "content-type": "application/json", "retry-after": "1", "content-length": Buffer.byteLength(body) }).end(body);
  });
});
server.keepAliveTimeout = 5_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
// Killed by the bench with SIGTERM: exit normally, so the preloaded timing hook writes its records.
process.on("SIGTERM", () => process.exit(0));
