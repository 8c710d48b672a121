import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { Address } from "viem";
import { waitFor } from "../../test/helpers/waitFor.ts";
import { createProviderHealth } from "./createProviderHealth.ts";
import type { Offer } from "./discoverOffers.ts";

const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve)))));

describe("createProviderHealth past its ttl", () => {
  it("answers from the last reply while asking again past ttlMs, and waits for the provider only past staleMs", async () => {
    // A provider whose next /health is held until the test lets it go, and whose store then fails.
    const held: (() => void)[] = [];
    let failing = false;
    let probes = 0;
    const server = createServer((req, res) => {
      probes++;
      const answer = () => res.writeHead(failing ? 503 : 200, { "content-type": "application/json" }).end(JSON.stringify(failing ? { failing: ["store"] } : {}));
      if (probes === 1) answer();
      else held.push(answer);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const offer = { endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, provider: "0x00000000000000000000000000000000000000aa" as Address } as Offer;
    let time = 0;
    const health = createProviderHealth({ ttlMs: 1_000, staleMs: 5_000, now: () => time });
    expect(await health.of(offer)).toEqual({ ready: true, failing: [] });
    failing = true;
    time = 1_500; // due: a re-read starts, held at the provider, and requests go on with the last reply
    expect(await Promise.all([health.of(offer), health.of(offer)])).toEqual([{ ready: true, failing: [] }, { ready: true, failing: [] }]);
    await waitFor(() => held.length === 1, { what: "the re-read to reach the provider" });
    expect(probes).toBe(2); // one re-read, shared
    held.shift()!();
    await waitFor(async () => (await health.of(offer))?.ready === false, { what: "the re-read's answer to replace the last one" });
    expect(await health.of(offer)).toEqual({ ready: false, failing: ["store"] });
    time = 1_500 + 5_000 + 1; // older than staleMs: the request waits for the provider's answer
    failing = false;
    let answered = false;
    const late = health.of(offer).then((h) => ((answered = true), h));
    await waitFor(() => held.length === 1, { what: "the late read to reach the provider" });
    expect(answered).toBe(false);
    held.shift()!();
    expect(await late).toEqual({ ready: true, failing: [] });
  });
});

describe("createProviderHealth and an endpoint that has never answered", () => {
  it("calls it unanswered (never trusted), asks again after a second, and after one answer only silence past the bound is dead", async () => {
    // A port where nothing listens yet: the provider starts later.
    const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const offer = { endpoint: `http://127.0.0.1:${port}`, provider: "0x00000000000000000000000000000000000000aa" as Address } as Offer;
    let time = 0;
    const health = createProviderHealth({ ttlMs: 5_000, deadAfterMs: 15_000, now: () => time });
    expect(health.statusOf(offer)).toBe("unknown"); // not asked yet
    expect(await health.of(offer)).toBeUndefined();
    expect(health.statusOf(offer)).toBe("unanswered");

    // The provider comes up; within the ttl the failure is reused, a second on it is asked again.
    const late = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    servers.push(late);
    await new Promise<void>((resolve) => late.listen(port, "127.0.0.1", resolve));
    time = 500;
    expect(await health.of(offer)).toBeUndefined();
    time = 1_001;
    await health.of(offer); // the stale "never answered" goes on while it asks behind the request
    await waitFor(async () => (await health.of(offer))?.ready === true, { what: "the second ask's answer" });
    expect(health.statusOf(offer)).toBe("ready");

    // Gone again after answering: unknown (not unanswered) until silent for deadAfterMs, then dead.
    await new Promise((resolve) => late.close(resolve));
    await health.probe(offer);
    expect(health.statusOf(offer)).toBe("unknown");
    time += 15_000;
    expect(health.statusOf(offer)).toBe("dead");
  });
});
