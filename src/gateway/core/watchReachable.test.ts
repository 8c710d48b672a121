import { afterEach, describe, expect, it } from "vitest";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { watchReachable } from "./watchReachable.ts";

const FAST = { firstAfterMs: 20, everyMs: 20, probeTimeoutMs: 150, freshMs: 0 };
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Resolves with the reason given to `onUnreachable`, or "still reachable" after `ms`. */
function outcome(endpoint: string, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const stop = watchReachable(endpoint, resolve, FAST);
    setTimeout(() => {
      stop();
      resolve("still reachable");
    }, ms);
  });
}

describe("watchReachable", () => {
  it("keeps waiting while the provider's host accepts new connections", async () => {
    let probes = 0;
    const endpoint = await listen(createTcpServer((socket) => {
      probes++;
      socket.destroy();
    }));
    expect(await outcome(endpoint, 400)).toBe("still reachable");
    expect(probes).toBeGreaterThanOrEqual(3);
  });

  it("keeps waiting while a provider too busy to answer HTTP still has its host accept connections (a burst)", async () => {
    // Accepts, never answers: as a provider whose event loop is busy with 1,000 requests at once.
    // A process that hangs for good is left to the request's answer timeout.
    const held: Socket[] = [];
    const endpoint = await listen(createTcpServer((socket) => held.push(socket)));
    closers.push(() => held.forEach((s) => s.destroy()));
    expect(await outcome(endpoint, 400)).toBe("still reachable");
    expect(held.length).toBeGreaterThanOrEqual(3);
  });

  it("gives up when nothing listens any more (connection refused)", async () => {
    const server = createHttpServer((_req, res) => res.end());
    const endpoint = await listen(server);
    server.close();
    await once(server, "close");
    expect(await outcome(endpoint, 1_000)).toMatch(/ECONNREFUSED/);
  });

  it("opens one probe connection for all the requests waiting on one provider at once", async () => {
    let probes = 0;
    const endpoint = await listen(createTcpServer((socket) => {
      probes++;
      socket.destroy();
    }));
    // Started over 200 ms, as requests arriving one after another: each asks within a second of the last probe.
    const stops: (() => void)[] = [];
    for (let i = 0; i < 200; i++) {
      stops.push(watchReachable(endpoint, () => {}, { firstAfterMs: 20, everyMs: 10_000, probeTimeoutMs: 500 }));
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    stops.forEach((stop) => stop());
    expect(probes).toBe(1);
  });

  it("never calls back once stopped", async () => {
    const endpoint = "http://127.0.0.1:9"; // discard port: refused at once
    let called = false;
    const stop = watchReachable(endpoint, () => (called = true), FAST);
    stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(called).toBe(false);
  });
});
