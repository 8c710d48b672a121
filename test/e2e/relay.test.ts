import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { hexToBytes, type Hex } from "viem";
import { createRequestInfo, createStreamOpener, decodeSseFrame, sealRequest } from "../../src/privacy/index.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";

/** What the web app does: seal in the client, let the gateway pay and relay without reading. */
async function sealedChat(gatewayUrl: string, model: string, content: string) {
  const prep = (await (await fetch(`${gatewayUrl}/gotong/relay/prepare`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model }) })).json()) as {
    requestId: Hex;
    provider: Hex;
    hpkePublicKey: Hex;
    chainId: number;
  };
  const request = Buffer.from(JSON.stringify({ model, messages: [{ role: "user", content }], max_tokens: 24, stream: true }));
  const { envelope, responseKeys } = sealRequest(hexToBytes(prep.hpkePublicKey), request, createRequestInfo({ chainId: prep.chainId, provider: prep.provider }), { aad: hexToBytes(prep.requestId) });
  const res = await fetch(`${gatewayUrl}/gotong/relay/${prep.requestId}`, { method: "POST", headers: { "content-type": "application/gotong-sealed" }, body: envelope });
  const raw = await res.text();
  const opener = createStreamOpener(responseKeys);
  let plain = "";
  let summary: Record<string, unknown> | undefined;
  for (const event of raw.split("\n\n")) {
    if (event.startsWith("event: gotong")) summary = JSON.parse(event.slice(event.indexOf("data:") + 5));
    else if (event.startsWith("event: error")) throw new Error(event);
    else if (event.includes("data:")) plain += Buffer.from(opener.open(decodeSseFrame(event.slice(event.indexOf("data:") + 5))).plaintext).toString();
  }
  opener.end();
  return { status: res.status, raw, plain, summary };
}

describe("the sealed relay for clients that seal themselves", () => {
  let net: ChatNetwork;
  let gateway: RunningGateway;

  beforeAll(async () => {
    net = await startChatNetwork();
    await net.provider(net.model.path);
    gateway = await net.gateway();
  });
  afterAll(() => net?.stop());

  it("streams an answer only the client can read, with a checked receipt, and pays for it", async () => {
    const canary = `canary-${randomBytes(8).toString("hex")}`;
    const result = await sealedChat(gateway.url, net.model.name, `Tell ${canary} a story`);
    expect(result.status).toBe(200);
    expect(result.raw).not.toContain('"choices"'); // the gateway passed on only ciphertext
    expect(result.plain).toContain('"choices"');
    expect(result.plain).toContain("data: [DONE]");
    expect(result.summary).toMatchObject({ receiptId: expect.stringMatching(/^0x/), cost: expect.any(String) });
    const receipts = gateway.store.listReceipts(5);
    expect(receipts[0]?.receipt.requestId).toBe(result.summary!.receiptId);
    expect(receipts[0]!.receipt.cost).toBe(BigInt(result.summary!.cost as string));
  });

  it("refuses a relay that was not prepared, and one that is not sealed", async () => {
    const unknown = await fetch(`${gateway.url}/gotong/relay/0x${"ab".repeat(32)}`, { method: "POST", headers: { "content-type": "application/gotong-sealed" }, body: "x" });
    expect(unknown.status).toBe(404);
    const prep = (await (await fetch(`${gateway.url}/gotong/relay/prepare`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: net.model.name }) })).json()) as { requestId: string };
    const plain = await fetch(`${gateway.url}/gotong/relay/${prep.requestId}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(plain.status).toBe(415);
  });

  it("refuses to spend for another web site: a foreign Origin, or a body not declared JSON", async () => {
    const body = JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "hi" }], max_tokens: 4 });
    const foreign = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", origin: "https://evil.example" }, body });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe("cross_origin_refused");
    const simple = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "text/plain" }, body });
    expect(simple.status).toBe(415);
    const own = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", origin: gateway.url }, body });
    expect(own.status).toBe(200);
  });

  it("lists offers with the keys a client seals to", async () => {
    const offers = (await (await fetch(`${gateway.url}/gotong/offers`)).json()) as { chainId: number; data: { model: string; hpkePublicKey: string }[] };
    expect(offers.chainId).toBe(31337);
    expect(offers.data[0]).toMatchObject({ model: net.model.name, hpkePublicKey: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
  });
});
