import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { channelIdOf } from "../../src/protocol/channelId.ts";
import { encodeVoucherHeader, signVoucher } from "../../src/protocol/voucher.ts";
import { HEADERS, PROTOCOL_VERSION } from "../../src/protocol/wire.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

describe("a provider facing bad input", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let channelId: Hex;
  const senderKey = generatePrivateKey();
  const sender = privateKeyToAccount(senderKey);
  const deposit = 1n * UNIT;
  const domain = () => ({ chainId: net.devnet.deployment.chainId, verifyingContract: net.devnet.deployment.paymentChannels });

  const post = (body: unknown, voucher?: string, path = "/v1/chat/completions") =>
    fetch(`${provider.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(voucher ? { "x-gotong-voucher": voucher } : {}) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const voucher = async (amount: bigint, d = domain(), key = senderKey, epoch = 0n) =>
    encodeVoucherHeader(await signVoucher(privateKeyToAccount(key), d, { channelId, epoch, cumulativeAmount: amount }));
  const owed = () => provider.store.getChannel(channelId, 0n).owed;
  const ask = (content = "Once upon a time", extra: Record<string, unknown> = {}) => ({ model: net.model.name, messages: [{ role: "user", content }], max_tokens: 8, ...extra });
  const expectError = async (res: Response, status: number, code: string) => {
    const body = (await res.json()) as { error: { code: string; message: string; type: string } };
    expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
    expect(body.error.message.length).toBeGreaterThan(10);
  };

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    const { deployment } = net.devnet;
    await fundOnDevnet(deployment, sender.address, { tokens: 10n * UNIT });
    const clients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: sender });
    await writeAndWait(clients, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [deployment.paymentChannels, deposit] });
    await writeAndWait(clients, { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "open", args: [provider.address, net.modelId, 0n, deposit] });
    channelId = channelIdOf(sender.address, provider.address, net.modelId, 0n);
  });
  afterAll(() => net?.stop());

  it("serves a request paid by a valid voucher and charges for it", async () => {
    const res = await post(ask(), await voucher(0n));
    expect(res.status).toBe(200);
    expect(owed()).toBe(BigInt(res.headers.get("x-gotong-cost")!));
  });

  it("refuses a request with no voucher, a malformed one, or a forged one, and charges nothing", async () => {
    const before = owed();
    await expectError(await post(ask()), 402, "voucher_missing");
    await expectError(await post(ask(), "garbage"), 400, "voucher_malformed");
    await expectError(await post(ask(), await voucher(before, domain(), generatePrivateKey())), 401, "voucher_signature_invalid");
    expect(owed()).toBe(before);
  });

  it("refuses a voucher signed for another chain or another contract", async () => {
    const before = owed();
    await expectError(await post(ask(), await voucher(before, { ...domain(), chainId: 1 })), 401, "voucher_signature_invalid");
    await expectError(await post(ask(), await voucher(before, { ...domain(), verifyingContract: sender.address })), 401, "voucher_signature_invalid");
    expect(owed()).toBe(before);
  });

  it("refuses a replayed or lower voucher once more is owed", async () => {
    const before = owed();
    expect(before).toBeGreaterThan(0n);
    await expectError(await post(ask(), await voucher(0n)), 402, "voucher_below_owed");
    await expectError(await post(ask(), await voucher(before - 1n)), 402, "voucher_below_owed");
    expect(owed()).toBe(before);
  });

  it("refuses a voucher above the deposit, and one from another epoch", async () => {
    const before = owed();
    await expectError(await post(ask(), await voucher(deposit + 1n)), 402, "voucher_exceeds_deposit");
    await expectError(await post(ask(), await voucher(before, domain(), senderKey, 1n)), 402, "voucher_wrong_epoch");
    expect(owed()).toBe(before);
  });

  it("refuses a request whose worst-case cost the deposit cannot cover", async () => {
    const before = owed();
    // 1 token deposit at 2 tokens per million output tokens covers ~500k tokens: ask for far more context than fits
    await expectError(await post(ask("hi", { max_tokens: 1_000_000 }), await voucher(before)), 400, "context_length_exceeded");
    expect(owed()).toBe(before);
  });

  it("refuses malformed JSON, an oversized body, and impossible parameters with 4xx errors", async () => {
    const before = owed();
    const v = await voucher(before);
    await expectError(await post("{not json", v), 400, "invalid_json");
    await expectError(await post(ask("x".repeat(2 * 1024 * 1024)), v), 413, "body_too_large");
    await expectError(await post(ask("hi", { max_tokens: -1 }), v), 400, "invalid_parameter");
    await expectError(await post(ask("hi", { max_tokens: 2 ** 31 }), v), 400, "invalid_parameter");
    await expectError(await post(ask("hi", { temperature: "NaN" }), v), 400, "invalid_parameter");
    await expectError(await post(ask("hi", { n: 9 }), v), 400, "invalid_parameter");
    await expectError(await post(ask("hi", { tools: [{ type: "retrieval" }] }), v), 400, "invalid_parameter");
    await expectError(await post("[".repeat(10_000) + "]".repeat(10_000), v), 400, "invalid_json");
    await expectError(await post({ model: net.model.name, messages: [] }, v), 400, "invalid_parameter");
    await expectError(await post({ model: "unknown-model", messages: [{ role: "user", content: "hi" }] }, v), 404, "model_not_found");
    await expectError(await post(ask("word ".repeat(50_000)), v), 400, "context_length_exceeded");
    expect(owed()).toBe(before);
  });

  it("refuses a request written for another protocol version before charging, serves its own or none, and says its version on every answer", async () => {
    const send = async (version: string | undefined) =>
      fetch(`${provider.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", [HEADERS.voucher]: await voucher(owed()), ...(version === undefined ? {} : { [HEADERS.protocolVersion]: version }) },
        body: JSON.stringify(ask()),
      });
    const before = owed();
    const refused = await send(String(PROTOCOL_VERSION + 1));
    expect(refused.headers.get(HEADERS.protocolVersion)).toBe(String(PROTOCOL_VERSION));
    const { error } = (await refused.json()) as { error: { code: string; message: string; hint: string } };
    expect({ status: refused.status, code: error.code }).toEqual({ status: 400, code: "protocol_version_mismatch" });
    expect(error.message).toContain(`The gateway speaks Gotong protocol version ${PROTOCOL_VERSION + 1} and this provider speaks version ${PROTOCOL_VERSION}`);
    expect(error.hint).toMatch(/^Upgrade the provider, the older side/);
    expect(owed()).toBe(before);
    // Refused on every route, before anything else is looked at.
    const models = await fetch(`${provider.url}/v1/models`, { headers: { [HEADERS.protocolVersion]: "0" } });
    expect(models.status).toBe(400);
    expect(((await models.json()) as { error: { hint: string } }).error.hint).toMatch(/^Upgrade the gateway, the older side/);

    for (const version of [String(PROTOCOL_VERSION), undefined]) {
      const paidBefore = owed();
      const served = await send(version);
      expect(served.status, `version ${version}`).toBe(200);
      expect(served.headers.get(HEADERS.protocolVersion)).toBe(String(PROTOCOL_VERSION));
      await served.arrayBuffer();
      expect(owed()).toBe(paidBefore + BigInt(served.headers.get(HEADERS.cost)!));
    }
    const health = await fetch(`${provider.url}/health`);
    expect(health.headers.get(HEADERS.protocolVersion)).toBe(String(PROTOCOL_VERSION));
    await health.arrayBuffer();
  });

  it("answers a flood on one channel with fast 429s and Retry-After, serving what it admitted", async () => {
    const v = await voucher(owed());
    const results = await Promise.all(Array.from({ length: 40 }, () => post(ask("Once upon a time", { max_tokens: 32 }), v)));
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.headers.get("retry-after") === "1")).toBe(true);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    await Promise.all(results.map((r) => r.arrayBuffer()));
  });

  it("keeps every accepted voucher on disk before answering", async () => {
    const before = owed();
    const v = await voucher(before);
    const res = await post(ask(), v);
    expect(res.status).toBe(200);
    expect(provider.store.getChannel(channelId, 0n).voucher?.cumulativeAmount).toBe(before);
  });
});
