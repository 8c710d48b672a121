import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageOf } from "../gateway/core/errors.ts";
import { postUpstream } from "./postUpstream.ts";

describe("postUpstream", () => {
  // Holds every request's answer until `expected` requests have arrived, as a provider holds
  // streams open: with a cap on sockets per host, the ones beyond it would never be sent.
  let expected = 0;
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      held.push(res);
      if (held.length === expected) for (const r of held.splice(0)) r.end("ok");
    });
  });
  let url = "";
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("has every request to one provider on the wire at once, beyond any pool cap (200 held open together)", async () => {
    expected = 200;
    const answers = await Promise.all(
      Array.from({ length: expected }, async () => {
        const response = await postUpstream(url, {}, Buffer.from("{}"), AbortSignal.timeout(20_000));
        return (await response.bytes()).toString();
      }),
    );
    expect(answers).toEqual(Array(expected).fill("ok"));
  });

  it("says why a request was aborted, not only that it was", async () => {
    expected = 1_000_000; // never answered
    const controller = new AbortController();
    const sent = postUpstream(url, {}, Buffer.from("{}"), controller.signal);
    setTimeout(() => controller.abort(new Error("no answer within 30000 ms")), 50);
    const error = await sent.catch((e: unknown) => e);
    expect(messageOf(error)).toBe("no answer within 30000 ms");
  });
});
