import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { Address } from "viem";
import { HEADERS, PROTOCOL_VERSION } from "../protocol/wire.ts";
import { createProviderHealth } from "./createProviderHealth.ts";
import type { Offer } from "./discoverOffers.ts";

const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve)))));

/** A provider's `/health` answering `status` with `headers`; records the protocol version each probe sent. */
async function provider(status: number, headers: Record<string, string>, body = "{}") {
  const sent: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    sent.push(req.headers[HEADERS.protocolVersion] as string | undefined);
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { offer: { endpoint, provider: "0x00000000000000000000000000000000000000aa" as Address } as Offer, sent };
}

describe("createProviderHealth", () => {
  it("says its protocol version, and takes a provider of the same version at its word", async () => {
    const p = await provider(200, { [HEADERS.protocolVersion]: String(PROTOCOL_VERSION) });
    expect(await createProviderHealth().of(p.offer)).toEqual({ ready: true, failing: [] });
    expect(p.sent).toEqual([String(PROTOCOL_VERSION)]);
  });

  it("takes a provider that states no version (one from before versions) at its word", async () => {
    const p = await provider(503, {}, JSON.stringify({ failing: ["store"] }));
    expect(await createProviderHealth().of(p.offer)).toEqual({ ready: false, failing: ["store"] });
  });

  it("counts a provider of another protocol version as not ready, saying why, whatever it answers", async () => {
    for (const status of [200, 400]) {
      const p = await provider(status, { [HEADERS.protocolVersion]: String(PROTOCOL_VERSION + 1) });
      expect(await createProviderHealth().of(p.offer)).toEqual({ ready: false, failing: [`protocol version ${PROTOCOL_VERSION + 1} (this gateway speaks ${PROTOCOL_VERSION})`] });
    }
  });
});
