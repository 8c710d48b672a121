import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The dishonest upstream of issue 14: an OpenAI-compatible server that answers every request with
 * "I AM A DIFFERENT MODEL" (streamed, with usage), for a provider started with `--upstream` under
 * another model's registered weights hash.
 */
export function startOtherModel(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const w of ["I AM", " A DIFFERENT", " MODEL"]) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` })));
}
