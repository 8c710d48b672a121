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

  it("closes an idle connection before the provider would (its Keep-Alive timeout), not writing into one it is closing", async () => {
    const connections: unknown[] = [];
    const short = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.end("ok"));
    });
    short.keepAliveTimeout = 2_000; // says `Keep-Alive: timeout=2`: the client lets go after 1 s
    short.on("connection", (socket) => connections.push(socket));
    await new Promise<void>((r) => short.listen(0, "127.0.0.1", r));
    const target = `http://127.0.0.1:${(short.address() as AddressInfo).port}/v1/chat/completions`;
    try {
      const send = async () => (await (await postUpstream(target, {}, Buffer.from("{}"), AbortSignal.timeout(5_000))).bytes()).toString();
      expect(await send()).toBe("ok");
      expect(await send()).toBe("ok"); // at once: the same kept-alive connection
      expect(connections).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1_500)); // past the client's 1 s, before the server's 2 s
      expect(await send()).toBe("ok");
      expect(connections).toHaveLength(2);
    } finally {
      short.closeAllConnections();
      await new Promise((r) => short.close(r));
    }
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
