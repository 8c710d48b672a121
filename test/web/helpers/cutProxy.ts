import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A TCP proxy that records every byte both ways (what an observer on that link sees) and, on
 * request, cuts the connection once the server has sent a number of sealed SSE frames: a provider
 * (or a link) dying in the middle of an answer, or slows what the server sends (a slow link, so a
 * test can act while an answer is still streaming).
 */
export async function startCutProxy(target: { host: string; port: number }) {
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  let cutAfterFrames: number | undefined;
  let delayMs: number | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let frames = 0;
    client.on("data", (b: Buffer) => {
      toServer.push(b);
      upstream.write(b);
    });
    upstream.on("data", (b: Buffer) => {
      toClient.push(b);
      if (cutAfterFrames !== undefined) {
        frames += (b.toString("latin1").match(/data: /g) ?? []).length;
        if (frames > cutAfterFrames) {
          client.write(b.subarray(0, Math.min(b.length, 64)));
          client.destroy();
          upstream.destroy();
          return;
        }
      }
      if (delayMs === undefined) return void client.write(b);
      // Slowed: hold what came and let it out one read at a time, in order.
      upstream.pause();
      setTimeout(() => {
        if (!client.destroyed) client.write(b);
        upstream.resume();
      }, delayMs);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    /** Bytes the client sent to the server. */
    sent: () => Buffer.concat(toServer),
    /** Bytes the server sent to the client. */
    received: () => Buffer.concat(toClient),
    /** Cut each later connection once this many SSE data events went through (undefined: never). */
    cutAfter(frames: number | undefined) {
      cutAfterFrames = frames;
    },
    /** Hold each later read from the server this long before passing it on (undefined: at once). */
    slowDown(ms: number | undefined) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
