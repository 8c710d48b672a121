import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { encodeCapabilities } from "../../src/protocol/capabilities.ts";
import { privateKeyToAccount } from "viem/accounts";
import { join } from "node:path";
import { copyFileSync, appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { startChatNetwork, DEFAULT_PRICE, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";

describe("what providers and gateways refuse to trust", () => {
  let net: ChatNetwork;

  beforeAll(async () => {
    net = await startChatNetwork();
  });
  afterAll(() => net?.stop());

  it("a provider refuses weights whose sha256 differs from the registry's, saying which", async () => {
    const tampered = join(net.home.models, "tampered.gguf");
    copyFileSync(net.model.path, tampered);
    appendFileSync(tampered, Buffer.from([0])); // one extra byte: same model to llama.cpp, different hash
    await expect(net.provider(tampered, { modelId: net.modelId })).rejects.toMatchObject({
      code: "weights_hash_mismatch",
      message: expect.stringMatching(/sha256 is [0-9a-f]{64} but registry model \d+ .* expects [0-9a-f]{64}/),
    });
  });

  it("a provider refuses to serve a model whose signed manifest has been altered", async () => {
    const dir = join(net.home.root, "manifests");
    const [file] = readdirSync(dir).filter((f) => f.endsWith(".json"));
    const path = join(dir, file!);
    const original = readFileSync(path, "utf8");
    writeFileSync(path, original.replace(/"royaltyBps":\d+/, '"royaltyBps":1'));
    try {
      await expect(net.provider(net.model.path, { modelId: net.modelId })).rejects.toMatchObject({ message: expect.stringMatching(/manifest/i) });
    } finally {
      writeFileSync(path, original);
    }
  });

  it("a provider refuses weights that were never registered", async () => {
    const other = join(net.home.models, "unregistered.gguf");
    copyFileSync(net.model.path, other);
    appendFileSync(other, Buffer.from([1, 2, 3]));
    await expect(net.provider(other)).rejects.toMatchObject({ code: "model_not_registered", message: expect.stringContaining("No model in the registry") });
  });

  it("a gateway refuses a receipt that charges more than price × tokens, and stops using that provider", async () => {
    // The provider charges its start-up price, then advertises a lower one on-chain.
    const greedy = await net.provider(net.model.path, { price: { pricePerMillionInput: 50n * DEFAULT_PRICE.pricePerMillionInput, pricePerMillionOutput: 50n * DEFAULT_PRICE.pricePerMillionOutput } });
    const { deployment } = net.devnet;
    const clients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(greedy.key) });
    await writeAndWait(clients, {
      address: deployment.providerRegistry,
      abi: ProviderRegistryArtifact.abi,
      functionName: "setOffer",
      args: [net.modelId, DEFAULT_PRICE.pricePerMillionInput, DEFAULT_PRICE.pricePerMillionOutput, encodeCapabilities(["chat", "tools", "structured_outputs"])],
    });
    const gateway = await net.gateway();
    const res = await postChat(gateway.baseUrl, net.model.name, "Hello", { max_tokens: 8 });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(502);
    expect(body.error.code).toBe("receipt_overcharge");
    expect(body.error.message).toMatch(/charges \d+ but \d+ input and \d+ output tokens at its price .* cost at most \d+/);
    expect(gateway.router.isUntrusted(greedy.address)).toBe(true);
    // Nothing was paid for it.
    expect(gateway.store.listChannels().every((c) => c.spent === 0n)).toBe(true);
  });
});
