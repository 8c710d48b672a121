import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, getAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { registerExactEvmScheme, ExactEvmScheme } from "@x402/evm/exact/client";
import { X402SplitterArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { computeCost, type Price } from "../../src/payments/price.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { sharedModel } from "../fixtures/model/sharedModels.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { exactSplitTransfers, splitOf as splitAmount, tokenTransfersOf } from "../helpers/x402Split.ts";

// Prices with odd digits, so the royalty (10%) and the protocol fee (2%) both round. Provider B is
// dearer, so the gateway routes to A unless a request asks for B.
const PRICE_A: Price = { pricePerMillionInput: 123_456_789n, pricePerMillionOutput: 987_654_321n };
const PRICE_B: Price = { pricePerMillionInput: 223_456_789n, pricePerMillionOutput: 1_987_654_321n };
const MAX_TOKENS = 8;
const ROYALTY_BPS = 1000n;

type Requirements = { scheme: string; network: string; amount: string; asset: string; payTo: string; maxTimeoutSeconds: number; extra?: Record<string, unknown> };
type PaymentRequired = { x402Version: number; error?: string; resource: { url: string; description?: string; mimeType?: string }; accepts: Requirements[] };

const stories = sharedModel("stories260K");

describe.skipIf(!stories)("x402 at the gateway: a client with no key and no account pays each request, split as paying the provider directly", () => {
  let net: ChatNetwork;
  let providerA: RunningProvider;
  let providerB: RunningProvider;
  let gateway: RunningGateway;
  let token: Address;
  let splitter: Address;
  let feeBps: bigint;
  const payer = privateKeyToAccount(generatePrivateKey());
  const ask = (content = "Once upon a time", extra: Record<string, unknown> = {}) => ({ model: net.model.name, messages: [{ role: "user", content }], max_tokens: MAX_TOKENS, ...extra });
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const chatAt = (base: string) => `${base}/v1/chat/completions`;
  const balanceOf = (account: Address) => net.creator.public.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [account] });
  const fees = () => net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "earnings", args: [net.devnet.deployment.fundingPool] });
  const payeeOf = (provider: Address) => net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "payeeOf", args: [provider, net.modelId] });
  const nonceUsed = (from: Address, nonce: Hex) =>
    net.creator.public.readContract({ address: token, abi: [{ type: "function", name: "authorizationState", stateMutability: "view", inputs: [{ type: "address" }, { type: "bytes32" }], outputs: [{ type: "bool" }] }] as const, functionName: "authorizationState", args: [from, nonce] });
  /** Every balance a payment may move, the gateway's own included, and what its channels have spent. */
  const balances = async () => ({
    payer: await balanceOf(payer.address),
    providerA: await balanceOf(providerA.address),
    providerB: await balanceOf(providerB.address),
    creator: await balanceOf(net.creator.account.address),
    fees: await fees(),
    gateway: await balanceOf(gateway.address),
    gatewayChannels: gateway.store.listChannels().length,
    gatewaySpent: gateway.store.listChannels().reduce((sum, c) => sum + c.spent, 0n),
  });
  const payingClient = () => {
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: payer });
    client.setSpendControls({ allowedAssets: [{ network: "eip155:31337", asset: token, maxAmountPerPayment: String(UNIT) }] });
    return client;
  };
  const requiredOf = (res: Response) => decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired;
  /** The 402 an unpaid request gets at `base` (the gateway or a provider), decoded with @x402/core. */
  const required = async (base: string, body: unknown = ask()): Promise<PaymentRequired> => {
    const res = await post(chatAt(base), body);
    expect(res.status).toBe(402);
    await res.body?.cancel();
    return requiredOf(res);
  };
  /** The payer's, royalty, fee and provider share transfers of one settlement, read from its ERC-20 Transfer events. */
  const transfersOf = (transaction: Hex) => tokenTransfersOf(net.creator.public, token, transaction);
  const splitOf = (amount: bigint) => splitAmount(amount, ROYALTY_BPS, feeBps);
  /** The transfers a settlement of `amount` to `provider`'s payee must make, to the base unit. */
  const splitTransfers = async (provider: Address, amount: bigint) =>
    exactSplitTransfers({ payer: payer.address, payee: await payeeOf(provider), creator: net.creator.account.address, splitter, provider }, amount, ROYALTY_BPS, feeBps);

  beforeAll(async () => {
    net = await startChatNetwork();
    providerA = await net.provider(net.model.path, { price: PRICE_A });
    providerB = await net.provider(net.model.path, { price: PRICE_B });
    const { deployment } = net.devnet;
    token = deployment.token.address;
    splitter = deployment.x402Splitter!;
    feeBps = BigInt(deployment.protocolFeeBps);
    await fundOnDevnet(deployment, payer.address, { tokens: 100n * UNIT });
    // The gateway holds tokens of its own, to show that x402 requests never touch them.
    const key = generatePrivateKey();
    await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    gateway = await startGateway({ home: net.home, deployment, privateKey: key, port: 0, x402: true, logger: quietLogger() });
  });
  afterAll(async () => {
    await gateway?.stop();
    await net?.stop();
  });

  it("answers an unpaid request 402 with the chosen provider's own requirements, its resource on the gateway", async () => {
    const res = await post(chatAt(gateway.url), ask());
    expect(res.status).toBe(402);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("voucher_missing");
    const atGateway = requiredOf(res);
    const atProvider = await required(providerA.url);
    // The provider offers batch-settlement too, and the gateway passes on both (x402GatewayBatch.test.ts pays by the other).
    expect(atProvider.accepts.map((a) => a.scheme)).toEqual(["exact", "batch-settlement"]);
    expect(atGateway).toEqual({ ...atProvider, resource: { ...atProvider.resource, url: `${gateway.url}/v1/chat/completions` } });
    expect(atGateway.accepts[0]).toEqual(
      { scheme: "exact", network: "eip155:31337", amount: expect.stringMatching(/^[1-9][0-9]*$/), asset: getAddress(token), payTo: await payeeOf(providerA.address), maxTimeoutSeconds: 120, extra: { name: "Gotong Test USD", version: "2" } },
    );
    // Asking for the requirements opened no channel and spent nothing.
    expect(gateway.store.listChannels()).toEqual([]);
  });

  it("is paid by @x402/fetch + @x402/evm, unchanged, through the gateway: split to the base unit, the gateway's money untouched", async () => {
    const before = await balances();
    const res = await wrapFetchWithPayment(fetch, payingClient())(chatAt(gateway.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ask()) });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { choices: { message: { content: string } }[]; gotong: { cost: string; provider: string } };
    expect(answer.choices).toHaveLength(1);
    expect(res.headers.get("x-gotong-provider")).toBe(providerA.address);
    expect(res.headers.get("x-gotong-receipt")).toBeTruthy();
    expect(answer.gotong.provider).toBe(providerA.address);

    const settlement = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")!);
    expect(settlement).toMatchObject({ success: true, network: "eip155:31337", payer: payer.address });
    const inputTokens = Number(res.headers.get("x-gotong-input-tokens"));
    const amount = computeCost(PRICE_A, { inputTokens, outputTokens: MAX_TOKENS });
    expect(settlement.amount).toBe(amount.toString());
    expect(BigInt(res.headers.get("x-gotong-cost")!)).toBeLessThanOrEqual(amount);

    const { royalty, fee, providerShare } = splitOf(amount);
    expect(fee).toBeGreaterThan(0n);
    expect(await transfersOf(settlement.transaction as Hex)).toEqual(await splitTransfers(providerA.address, amount));
    const after = await balances();
    expect(after).toEqual({ ...before, payer: before.payer - amount, providerA: before.providerA + providerShare, creator: before.creator + royalty, fees: before.fees + fee });
    expect(after.gatewayChannels).toBe(0);
    // The provider's receipt passed the gateway's checks (a refused one would exclude the provider).
    expect(gateway.router.isUntrusted(providerA.address)).toBe(false);
  });

  it("is paid for a streamed answer, PAYMENT-RESPONSE in the headers, the receipt's summary in the last event", async () => {
    const before = await balances();
    const res = await wrapFetchWithPayment(fetch, payingClient())(chatAt(gateway.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ask("Lily", { stream: true })),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const settlement = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")!);
    expect(settlement).toMatchObject({ success: true, payer: payer.address });
    const text = await res.text();
    expect(text).toContain("data: [DONE]");
    const events = text.split("\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)) as { gotong?: { cost?: string; receiptId?: string } });
    const last = events.at(-1)!;
    expect(last.gotong?.receiptId).toMatch(/^0x[0-9a-f]{64}$/);
    const amount = BigInt(settlement.amount!);
    expect(BigInt(last.gotong!.cost!)).toBeLessThanOrEqual(amount);
    const { royalty, fee, providerShare } = splitOf(amount);
    const after = await balances();
    expect(after).toEqual({ ...before, payer: before.payer - amount, providerA: before.providerA + providerShare, creator: before.creator + royalty, fees: before.fees + fee });
  });

  it("refuses a payment to a payee of no offer it knows, with the spec's reason, and forwards nothing", async () => {
    const paymentRequired = await required(gateway.url);
    const requirements = { ...paymentRequired.accepts[0]!, payTo: privateKeyToAccount(generatePrivateKey()).address };
    const { payload } = await new ExactEvmScheme(payer).createPaymentPayload(2, requirements as never);
    const payment = { x402Version: 2, resource: paymentRequired.resource, accepted: requirements, payload };
    const before = await balances();
    const res = await post(chatAt(gateway.url), ask(), { "PAYMENT-SIGNATURE": encodePaymentSignatureHeader(payment as never) });
    expect(res.status).toBe(402);
    expect(requiredOf(res).error).toBe("invalid_exact_evm_payload_recipient_mismatch");
    const body = (await res.json()) as { error: { code: string; message: string }; choices?: unknown };
    expect(body.error.code).toBe("x402_payment_refused");
    expect(body.error.message).toContain("nothing was forwarded");
    expect(body.choices).toBeUndefined();
    expect(res.headers.get("x-gotong-receipt")).toBeNull();
    expect(await balances()).toEqual(before);
    expect(await nonceUsed(payer.address, (payload as { authorization: { nonce: Hex } }).authorization.nonce)).toBe(false);
  });

  it("relays the provider's refusal of a payment (too little), its resource on the gateway, and nothing moves", async () => {
    const paymentRequired = await required(gateway.url);
    const requirements = { ...paymentRequired.accepts[0]!, amount: (BigInt(paymentRequired.accepts[0]!.amount) - 1n).toString() };
    const { payload } = await new ExactEvmScheme(payer).createPaymentPayload(2, requirements as never);
    const before = await balances();
    const res = await post(chatAt(gateway.url), ask(), { "PAYMENT-SIGNATURE": encodePaymentSignatureHeader({ x402Version: 2, resource: paymentRequired.resource, accepted: requirements, payload } as never) });
    expect(res.status).toBe(402);
    const refused = requiredOf(res);
    expect(refused.error).toBe("invalid_exact_evm_payload_authorization_value_mismatch");
    expect(refused.resource.url).toBe(`${gateway.url}/v1/chat/completions`);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("x402_payment_refused");
    expect(await balances()).toEqual(before);
  });

  it("with --keys too: a request with a key is paid from the gateway's channel as before, one without pays by x402", async () => {
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    const keyed = await startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: key, port: 0, requireKeys: true, x402: true, logger: quietLogger() });
    try {
      const { key: apiKey } = keyed.store.apiKeys.create({ budget: UNIT, periodSeconds: 86_400, rpm: 1000 });
      const withKey = await post(chatAt(keyed.url), ask(), { authorization: `Bearer ${apiKey}` });
      expect(withKey.status).toBe(200);
      expect(withKey.headers.get("PAYMENT-RESPONSE")).toBeNull();
      const cost = BigInt(((await withKey.json()) as { gotong: { cost: string } }).gotong.cost);
      expect(keyed.store.listChannels().reduce((sum, c) => sum + c.spent, 0n)).toBe(cost);
      expect((await post(chatAt(keyed.url), ask(), { authorization: "Bearer gk-not-a-key" })).status).toBe(401);
      const withoutKey = await required(keyed.url);
      expect(withoutKey.resource.url).toBe(`${keyed.url}/v1/chat/completions`);
      expect(withoutKey.accepts[0]!.payTo).toBe(await payeeOf(providerA.address));
      // A client without a key may list what it can pay for.
      expect((await fetch(`${keyed.url}/v1/models`)).status).toBe(200);
      const paid = await wrapFetchWithPayment(fetch, payingClient())(chatAt(keyed.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ask()) });
      expect(paid.status).toBe(200);
      await paid.json();
      expect(decodePaymentResponseHeader(paid.headers.get("PAYMENT-RESPONSE")!)).toMatchObject({ success: true, payer: payer.address });
      expect(keyed.store.listChannels().reduce((sum, c) => sum + c.spent, 0n)).toBe(cost);
    } finally {
      await keyed.stop();
    }
  });

  it("with two providers, the payment goes to the provider whose requirements the client was given", async () => {
    // A request that asks for B gets B's requirements (its payee, its price) through the gateway.
    const onlyB = ask("The dog", { provider: { only: [providerB.address] } });
    const forB = await required(gateway.url, onlyB);
    expect(forB.accepts[0]!.payTo).toBe(await payeeOf(providerB.address));
    expect(forB.accepts).toEqual((await required(providerB.url, ask("The dog"))).accepts);
    const before = await balances();
    const res = await wrapFetchWithPayment(fetch, payingClient())(chatAt(gateway.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(onlyB) });
    expect(res.status).toBe(200);
    await res.json();
    expect(res.headers.get("x-gotong-provider")).toBe(providerB.address);
    const settlement = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")!);
    const amount = BigInt(forB.accepts[0]!.amount);
    expect(settlement.amount).toBe(amount.toString());
    const { royalty, fee, providerShare } = splitOf(amount);
    expect(await transfersOf(settlement.transaction as Hex)).toEqual(await splitTransfers(providerB.address, amount));
    const after = await balances();
    expect(after).toEqual({ ...before, payer: before.payer - amount, providerB: before.providerB + providerShare, creator: before.creator + royalty, fees: before.fees + fee });

    // The provider is read from the payment, not from routing: a payment for B's requirements on a
    // request that routing would send to A (the cheaper) is still served by B.
    const forBAgain = await required(gateway.url, onlyB);
    const payment = await payingClient().createPaymentPayload(forBAgain as never);
    const direct = await post(chatAt(gateway.url), ask("The dog"), { "PAYMENT-SIGNATURE": encodePaymentSignatureHeader(payment) });
    expect(direct.status).toBe(200);
    await direct.json();
    expect(direct.headers.get("x-gotong-provider")).toBe(providerB.address);
    const second = await balances();
    expect({ payer: after.payer - second.payer, providerA: second.providerA - after.providerA }).toEqual({ payer: BigInt(forBAgain.accepts[0]!.amount), providerA: 0n });
  });

  it("a provider that vanishes after its 402: a clear error, not another provider, and no money moved", async () => {
    const onlyB = ask("The cat", { provider: { only: [providerB.address] } });
    const paymentRequired = await required(gateway.url, onlyB);
    const payment = await payingClient().createPaymentPayload(paymentRequired as never);
    await providerB.stop();
    const before = await balances();
    const res = await post(chatAt(gateway.url), onlyB, { "PAYMENT-SIGNATURE": encodePaymentSignatureHeader(payment) });
    const body = (await res.json()) as { error: { code: string; message: string }; choices?: unknown };
    expect(res.status).toBe(502);
    expect(body.error.code).toBe("provider_unavailable");
    expect(body.error.message).toContain(`Provider ${providerB.address}, the one this payment pays, did not answer`);
    expect(body.choices).toBeUndefined();
    expect(res.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await balances()).toEqual(before);
    const nonce = (payment.payload as { authorization: { nonce: Hex } }).authorization.nonce;
    expect(await nonceUsed(payer.address, nonce)).toBe(false);
  });
});
