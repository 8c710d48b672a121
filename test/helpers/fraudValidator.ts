import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeEvidence } from "../../src/verification/evidence.ts";

/**
 * A stand-in for `gotong validator start`'s HTTP side, for tests of who challenges and reports:
 * its verdict is fraud when the answer is test/helpers/otherModelUpstream.ts's ("DIFFERENT MODEL").
 * `asked` counts the evidence it was sent.
 */
export function startFraudValidator(): Promise<{ server: Server; url: string; asked: number }> {
  const state = { asked: 0 };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (b) => (body += b));
    req.on("end", () => {
      state.asked++;
      const fraud = decodeEvidence(JSON.parse(body)).response.includes("DIFFERENT MODEL");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ fraud, reason: fraud ? "different_output" : "ok", agreement: fraud ? 0 : 1 }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(Object.assign(state, { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))));
}
