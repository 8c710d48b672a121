import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { privateKeyToAccount } from "viem/accounts";
import { createClients } from "../../src/chain/createClients.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { ProviderRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import { startChatNetwork, DEFAULT_PRICE, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { waitFor } from "../helpers/waitFor.ts";

describe("the gateway choosing and leaving providers", () => {
  let net: ChatNetwork;
  let gateway: RunningGateway;

  beforeAll(async () => {
    net = await startChatNetwork();
    gateway = await net.gateway();
  });
  afterAll(() => net?.stop());

  const ask = (body: Record<string, unknown>, signal?: AbortSignal) => postChat(gateway.baseUrl, net.model.name, "Once upon a time", { max_tokens: 8, ...body }, signal);

  it("picks the cheapest provider, and fails over to the next when it goes down", async () => {
    const cheap = await net.provider(net.model.path);
    const dear = await net.provider(net.model.path, { price: { pricePerMillionInput: 2n * DEFAULT_PRICE.pricePerMillionInput, pricePerMillionOutput: 2n * DEFAULT_PRICE.pricePerMillionOutput } });
    const first = await ask({});
    expect(first.status).toBe(200);
    expect(first.headers.get("x-gotong-provider")).toBe(cheap.address);

    await cheap.stop();
    const second = await ask({});
    expect(second.status).toBe(200);
    expect(second.headers.get("x-gotong-provider")).toBe(dear.address);
    const body = (await second.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
  });

  it("never seals to a provider whose registered HPKE key is unusable, and fails over", async () => {
    const broken = await net.provider(net.model.path, { price: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n } });
    const { deployment } = net.devnet;
    const clients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(broken.key) });
    // x = 1 is a low-order X25519 point: a shared secret with it is all zeros (RFC 9180 §7.1.4).
    await writeAndWait(clients, { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "setHpkeKey", args: [`0x01${"00".repeat(31)}`] });
    const fresh = await net.gateway();
    const res = await postChat(fresh.baseUrl, net.model.name, "Once upon a time", { max_tokens: 8 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gotong-provider")).not.toBe(broken.address);
    expect(fresh.router.isUntrusted(broken.address)).toBe(true);
    await broken.stop();
  });

  it("stops generation when the client disconnects, and bills only what was delivered", async () => {
    const controller = new AbortController();
    const res = await ask({ stream: true, max_tokens: 400 }, controller.signal);
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-gotong-request-id") as `0x${string}`;
    const provider = res.headers.get("x-gotong-provider");
    const reader = res.body!.getReader();
    let received = "";
    while (!received.includes('"outputTokens":')) received += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const seen = Math.max(...[...received.matchAll(/"outputTokens":(\d+)/g)].map((m) => Number(m[1])));

    // The next request settles the cut one: the gateway fetches and checks its receipt. Both sides
    // notice the cut asynchronously, so wait until the gateway has it pending (or settled) and the
    // provider has finished it and signed its receipt, rather than for a fixed moment.
    const endpoint = (await gateway.router.listModels()).flatMap((m) => m.offers).find((o) => o.provider === provider)!.endpoint;
    await waitFor(
      async () => {
        const known = gateway.store.listReceipts(10).some((r) => r.receipt.requestId === requestId) || gateway.store.listChannels().some((c) => gateway.store.listPending(c.channelId).some((p) => p.requestId === requestId));
        return known && (await fetch(`${endpoint}/gotong/receipts/${requestId}`)).ok;
      },
      { what: `the cut request ${requestId} to be pending at the gateway and receipted by the provider` },
    );
    expect((await ask({})).status).toBe(200);
    const settled = gateway.store.listReceipts(10).find((r) => r.receipt.requestId === requestId);
    expect(settled?.provider).toBe(provider);
    const billed = Number(settled!.receipt.outputTokens);
    expect(billed).toBeGreaterThanOrEqual(seen);
    expect(billed).toBeLessThan(200); // stopped long before max_tokens
  });
});
