import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, getAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { BatchSettlementEvmScheme, InMemoryClientChannelStorage } from "@x402/evm/batch-settlement/client";
import { toClientEvmSigner } from "@x402/evm";
import { X402BatchSettlementArtifact, X402SplitterArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { computeCost, type Price } from "../../src/payments/price.ts";
import { BATCH_SETTLEMENT_ADDRESS, computeChannelId, depositNonce, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, type ChannelConfig } from "../../src/protocol/x402/batchSettlement.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { sharedModel } from "../fixtures/model/sharedModels.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { splitOf as splitAmount, tokenTransfersOf } from "../helpers/x402Split.ts";

// Prices with odd digits, so the royalty (10%) and the protocol fee (2%) both round. Provider B is
// dearer, so the gateway routes to A unless a request asks for B.
const PRICE_A: Price = { pricePerMillionInput: 123_456_789n, pricePerMillionOutput: 987_654_321n };
const PRICE_B: Price = { pricePerMillionInput: 223_456_789n, pricePerMillionOutput: 1_987_654_321n };
const MAX_TOKENS = 8;
const ROYALTY_BPS = 1000n;
const NETWORK = "eip155:31337";

type Requirements = { scheme: string; network: string; amount: string; asset: string; payTo: string; maxTimeoutSeconds: number; extra?: Record<string, unknown> };
type PaymentRequired = { x402Version: number; error?: string; resource: { url: string; description?: string; mimeType?: string }; accepts: Requirements[] };
type BatchPayload = {
  type: "deposit" | "voucher";
  channelConfig: ChannelConfig;
  voucher: { channelId: Hex; maxClaimableAmount: string; signature: Hex };
  deposit?: { amount: string; authorization: { erc3009Authorization: { validAfter: string; validBefore: string; salt: Hex; signature: Hex } } };
};
type BatchSettled = { success: boolean; transaction: Hex; payer: string; amount?: string; extra: { chargedAmount?: string; channelState: { channelId: Hex; chargedCumulativeAmount?: string } } };

const stories = sharedModel("stories260K");

describe.skipIf(!stories)("x402 batch-settlement at the gateway: the client's channel is with the provider, through the gateway, split as paying it directly", () => {
  let net: ChatNetwork;
  let providerA: RunningProvider;
  let providerB: RunningProvider;
  let gateway: RunningGateway;
  let token: Address;
  let splitter: Address;
  let feeBps: bigint;
  /** The gateway's own money and channels when it started: x402 requests must never move them. */
  let gatewayAtStart: Awaited<ReturnType<typeof gatewayMoney>>;
  const payer = privateKeyToAccount(generatePrivateKey());
  const ask = (content = "Once upon a time", extra: Record<string, unknown> = {}) => ({ model: net.model.name, messages: [{ role: "user", content }], max_tokens: MAX_TOKENS, ...extra });
  const onlyB = (content: string) => ask(content, { provider: { only: [providerB.address] } });
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const chatAt = (base: string) => `${base}/v1/chat/completions`;
  const paidChat = (f: typeof fetch, body: unknown) => f(chatAt(gateway.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const balanceOf = (account: Address) => net.creator.public.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [account] });
  const payeeOf = (provider: Address) => net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "payeeOf", args: [provider, net.modelId] });
  const nonceOf = (account: Address) => net.creator.public.getTransactionCount({ address: account });
  const authorizationUsed = (from: Address, nonce: Hex) =>
    net.creator.public.readContract({ address: token, abi: [{ type: "function", name: "authorizationState", stateMutability: "view", inputs: [{ type: "address" }, { type: "bytes32" }], outputs: [{ type: "bool" }] }] as const, functionName: "authorizationState", args: [from, nonce] });
  const onchain = async (channelId: Hex) => {
    const [balance, totalClaimed] = (await net.creator.public.readContract({ address: BATCH_SETTLEMENT_ADDRESS, abi: X402BatchSettlementArtifact.abi, functionName: "channels", args: [channelId] })) as readonly [bigint, bigint];
    return { balance, totalClaimed };
  };
  const gatewayMoney = async () => ({
    balance: await balanceOf(gateway.address),
    nonce: await nonceOf(gateway.address),
    channels: gateway.store.listChannels().length,
    spent: gateway.store.listChannels().reduce((sum, c) => sum + c.spent, 0n),
  });
  /** Every balance a payment may move, and the gateway's own money. */
  const balances = async () => ({
    payer: await balanceOf(payer.address),
    held: await balanceOf(BATCH_SETTLEMENT_ADDRESS),
    providerA: await balanceOf(providerA.address),
    providerB: await balanceOf(providerB.address),
    creator: await balanceOf(net.creator.account.address),
    gateway: await gatewayMoney(),
  });
  const charged = (provider: RunningProvider, channelId: Hex) => provider.store.getChannel(channelId, 0n).owed;
  /** The published client's batch-settlement scheme, as an app sets it up. */
  const scheme = (storage: InMemoryClientChannelStorage, salt?: Hex) =>
    new BatchSettlementEvmScheme(toClientEvmSigner(payer, net.creator.public as never), { storage, salt, depositPolicy: { depositMultiplier: 50 } });
  /** The published client, unchanged, paying with batch-settlement only, against the gateway. */
  const payingFetch = (storage: InMemoryClientChannelStorage) => {
    const client = new x402Client();
    client.register(NETWORK, scheme(storage));
    client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token, maxAmountPerPayment: String(UNIT) }] });
    return wrapFetchWithPayment(fetch, client);
  };
  const requiredOf = (res: Response) => decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired;
  const required = async (base: string, body: unknown = ask()): Promise<PaymentRequired> => {
    const res = await post(chatAt(base), body);
    expect(res.status).toBe(402);
    await res.body?.cancel();
    return requiredOf(res);
  };
  const batchOf = (p: PaymentRequired) => p.accepts.find((a) => a.scheme === "batch-settlement")!;
  /** A payment made by the published scheme for `requirements` (changed as a test needs). */
  const paymentFor = async (paymentRequired: PaymentRequired, requirements: Requirements, by: BatchSettlementEvmScheme) => {
    const { payload } = await by.createPaymentPayload(2, requirements as never, { maxAmountPerPayment: String(UNIT) } as never);
    return { x402Version: 2, resource: paymentRequired.resource, accepted: requirements, payload: payload as unknown as BatchPayload };
  };
  const signed = (payment: unknown) => ({ "PAYMENT-SIGNATURE": encodePaymentSignatureHeader(payment as never) });
  const settledOf = (res: Response) => decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")!) as unknown as BatchSettled;
  const expectRefusedHere = async (res: Response, reason: string) => {
    expect({ status: res.status, reason: requiredOf(res).error }).toEqual({ status: 402, reason });
    const body = (await res.json()) as { error: { code: string; message: string }; choices?: unknown };
    expect(body.error.code).toBe("x402_payment_refused");
    expect(body.error.message).toContain("nothing was forwarded");
    expect(body.choices).toBeUndefined();
    expect(res.headers.get("x-gotong-receipt")).toBeNull();
  };
  /** The claim and split a redeem made: every transfer, to the base unit. */
  const expectClaimedAndSplit = async (provider: RunningProvider, total: bigint) => {
    const payee = getAddress(await payeeOf(provider.address));
    const redemption = await provider.x402BatchRedeemer!.redeem();
    expect(redemption).toMatchObject({ channels: 1, amount: total });
    expect(await tokenTransfersOf(net.creator.public, token, redemption!.claimTransaction)).toEqual([{ from: BATCH_SETTLEMENT_ADDRESS, to: payee, value: total }]);
    const { royalty, fee, providerShare } = splitAmount(total, ROYALTY_BPS, feeBps);
    expect(fee).toBeGreaterThan(0n);
    expect(redemption!.splitTransactions).toHaveLength(1);
    expect(await tokenTransfersOf(net.creator.public, token, redemption!.splitTransactions[0]!)).toEqual([
      { from: payee, to: net.creator.account.address, value: royalty },
      { from: payee, to: getAddress(splitter), value: fee },
      { from: payee, to: provider.address, value: providerShare },
    ]);
    return { royalty, fee, providerShare };
  };

  beforeAll(async () => {
    // The devnet puts Gotong's batch-settlement contracts at the canonical addresses, so both providers offer it.
    net = await startChatNetwork();
    providerA = await net.provider(net.model.path, { price: PRICE_A });
    providerB = await net.provider(net.model.path, { price: PRICE_B });
    const { deployment } = net.devnet;
    token = getAddress(deployment.token.address);
    splitter = deployment.x402Splitter!;
    feeBps = BigInt(deployment.protocolFeeBps);
    await fundOnDevnet(deployment, payer.address, { tokens: 100n * UNIT });
    // The gateway holds tokens of its own, to show that x402 requests never touch them.
    const key = generatePrivateKey();
    await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    gateway = await startGateway({ home: net.home, deployment, privateKey: key, port: 0, x402: true, logger: quietLogger() });
    gatewayAtStart = await gatewayMoney();
  });
  afterAll(async () => {
    await gateway?.stop();
    await net?.stop();
  });

  it("answers an unpaid request 402 with both of the chosen provider's entries, exact and batch-settlement, its resource on the gateway", async () => {
    const atGateway = await required(gateway.url);
    const atProvider = await required(providerA.url);
    expect(atProvider.accepts.map((a) => a.scheme)).toEqual(["exact", "batch-settlement"]);
    expect(atGateway).toEqual({ ...atProvider, resource: { ...atProvider.resource, url: `${gateway.url}/v1/chat/completions` } });
    expect(batchOf(atGateway)).toEqual({
      scheme: "batch-settlement",
      network: NETWORK,
      amount: atGateway.accepts[0]!.amount,
      asset: token,
      payTo: await payeeOf(providerA.address),
      maxTimeoutSeconds: 120,
      extra: { name: "Gotong Test USD", version: "2", receiverAuthorizer: providerA.address, withdrawDelay: 900 },
    });
    expect(await gatewayMoney()).toEqual(gatewayAtStart);
  });

  describe("one client session through the gateway, paid to provider A", () => {
    const storage = new InMemoryClientChannelStorage();
    let channel: Hex;
    /** Every cost served on the channel, in order. */
    const served: bigint[] = [];

    it("the first request deposits (one transaction, submitted by the provider), the second carries a voucher and costs no transaction", async () => {
      const f = payingFetch(storage);
      const before = await balances();
      const first = await paidChat(f, ask());
      expect(first.status).toBe(200);
      await first.json();
      expect(first.headers.get("x-gotong-provider")).toBe(providerA.address);
      expect(first.headers.get("x-gotong-receipt")).toBeTruthy();
      const cost1 = BigInt(first.headers.get("x-gotong-cost")!);
      const amount = computeCost(PRICE_A, { inputTokens: Number(first.headers.get("x-gotong-input-tokens")), outputTokens: MAX_TOKENS });
      // The provider's PAYMENT-RESPONSE, relayed as it is.
      const settled1 = settledOf(first);
      expect(settled1).toMatchObject({ success: true, network: NETWORK, payer: payer.address, amount: cost1.toString(), extra: { chargedAmount: cost1.toString(), channelState: { chargedCumulativeAmount: cost1.toString() } } });
      channel = settled1.extra.channelState.channelId;
      served.push(cost1);
      const config = (await storage.get(channel)) as unknown as { chargedCumulativeAmount?: string } | undefined;
      expect(config?.chargedCumulativeAmount).toBe(cost1.toString());
      // The channel pays A's X402Splitter payee: its id is that of the config the client built from the gateway's 402.
      expect(channel).toBe(computeChannelId({ payer: payer.address, payerAuthorizer: payer.address, receiver: await payeeOf(providerA.address), receiverAuthorizer: providerA.address, token, withdrawDelay: 900, salt: `0x${"00".repeat(32)}` }, 31337));
      expect(await tokenTransfersOf(net.creator.public, token, settled1.transaction)).toEqual([
        { from: payer.address, to: ERC3009_DEPOSIT_COLLECTOR_ADDRESS, value: 50n * amount },
        { from: ERC3009_DEPOSIT_COLLECTOR_ADDRESS, to: BATCH_SETTLEMENT_ADDRESS, value: 50n * amount },
      ]);
      expect(await onchain(channel)).toEqual({ balance: 50n * amount, totalClaimed: 0n });
      expect(await balances()).toEqual({ ...before, payer: before.payer - 50n * amount, held: before.held + 50n * amount });

      const block = await net.creator.public.getBlockNumber();
      const nonces = [await nonceOf(payer.address), await nonceOf(providerA.address), await nonceOf(gateway.address)];
      const second = await paidChat(f, ask("The cat"));
      expect(second.status).toBe(200);
      await second.json();
      const cost2 = BigInt(second.headers.get("x-gotong-cost")!);
      served.push(cost2);
      expect(settledOf(second)).toMatchObject({ success: true, transaction: channel, extra: { chargedAmount: cost2.toString(), channelState: { chargedCumulativeAmount: (cost1 + cost2).toString() } } });
      expect(await net.creator.public.getBlockNumber()).toBe(block);
      expect([await nonceOf(payer.address), await nonceOf(providerA.address), await nonceOf(gateway.address)]).toEqual(nonces);
      expect(charged(providerA, channel)).toBe(cost1 + cost2);
      expect(await gatewayMoney()).toEqual(gatewayAtStart);
      // The provider's receipts passed the gateway's checks, filed under the channel (a refused one would exclude the provider).
      expect(gateway.router.isUntrusted(providerA.address)).toBe(false);
    });

    it("a streamed answer, then the next request: the provider's corrective 402 reaches the client through the gateway, which pays again", async () => {
      const f = payingFetch(storage);
      const before = charged(providerA, channel);
      const stream = await paidChat(f, ask("Lily", { stream: true }));
      expect(stream.status).toBe(200);
      expect(settledOf(stream)).toMatchObject({ success: true, transaction: channel });
      const text = await stream.text();
      expect(text).toContain("data: [DONE]");
      const events = text.split("\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)) as { gotong?: { cost?: string } });
      const streamed = charged(providerA, channel) - before;
      expect(BigInt(events.at(-1)!.gotong!.cost!)).toBe(streamed);
      served.push(streamed);
      // The stream's PAYMENT-RESPONSE had no charge, so this voucher is on an old base: corrected, then paid.
      const next = await paidChat(f, ask("A dog"));
      expect(next.status).toBe(200);
      await next.json();
      served.push(BigInt(next.headers.get("x-gotong-cost")!));
      expect(charged(providerA, channel)).toBe(served.reduce((a, b) => a + b, 0n));
      expect(gateway.router.isUntrusted(providerA.address)).toBe(false);
    });

    it("overlapping requests on the channel through the gateway: each one served is charged once, the others are refused uncharged, and the provider stays trusted", async () => {
      const f = payingFetch(storage);
      const before = charged(providerA, channel);
      const answers = await Promise.all(["One", "Two", "Three", "Four", "Five"].map((w) => paidChat(f, ask(w))));
      let sum = 0n;
      for (const res of answers) {
        if (res.status === 200) {
          await res.json();
          const cost = BigInt(res.headers.get("x-gotong-cost")!);
          sum += cost;
          served.push(cost);
        } else {
          // The provider's refusal, relayed as it is: one request per channel at a time.
          expect(res.status).toBe(402);
          expect(["invalid_batch_settlement_evm_channel_busy", "invalid_batch_settlement_evm_cumulative_amount_mismatch"]).toContain(requiredOf(res).error);
          expect(res.headers.get("x-gotong-receipt")).toBeNull();
          await res.text();
        }
      }
      expect(answers.some((r) => r.status === 200)).toBe(true);
      expect(charged(providerA, channel)).toBe(before + sum);
      // A refusal for a busy channel is the client's overlap, not the provider's fault.
      expect(gateway.router.isUntrusted(providerA.address)).toBe(false);
      expect(await gatewayMoney()).toEqual(gatewayAtStart);
      // The client's books and the provider's agree afterwards: the next request is paid as usual.
      const next = await paidChat(f, ask("After"));
      expect(next.status).toBe(200);
      await next.json();
      served.push(BigInt(next.headers.get("x-gotong-cost")!));
      expect(charged(providerA, channel)).toBe(served.reduce((a, b) => a + b, 0n));
    });

    it("the provider's claim: every served cost in one batch, split to royalty, fee and provider to the base unit; the gateway's money untouched", async () => {
      const total = served.reduce((a, b) => a + b, 0n);
      const before = await balances();
      const { royalty, providerShare } = await expectClaimedAndSplit(providerA, total);
      expect(await onchain(channel)).toMatchObject({ totalClaimed: total });
      const after = await balances();
      expect(after).toEqual({ ...before, held: before.held - total, providerA: before.providerA + providerShare, creator: before.creator + royalty });
      expect(after.gateway).toEqual(gatewayAtStart);
    });
  });

  it("refuses a channel to a receiver that is no offer's payee, and a payTo that is not its channel's receiver, forwarding nothing and moving nothing", async () => {
    const paymentRequired = await required(gateway.url);
    const requirements = batchOf(paymentRequired);
    const stranger = privateKeyToAccount(generatePrivateKey()).address;
    const toStranger = await paymentFor(paymentRequired, { ...requirements, payTo: stranger }, scheme(new InMemoryClientChannelStorage(), randomSalt()));
    expect(toStranger.payload).toMatchObject({ type: "deposit", channelConfig: { receiver: stranger } });
    const before = await balances();
    await expectRefusedHere(await post(chatAt(gateway.url), ask(), signed(toStranger)), "invalid_batch_settlement_evm_receiver_mismatch");
    // The same channel (to the stranger), the payment claiming A's payee.
    await expectRefusedHere(await post(chatAt(gateway.url), ask(), signed({ ...toStranger, accepted: requirements })), "invalid_batch_settlement_evm_receiver_mismatch");
    expect(await balances()).toEqual(before);
    const config = toStranger.payload.channelConfig;
    expect(await authorizationUsed(payer.address, depositNonce(computeChannelId(config, 31337), toStranger.payload.deposit!.authorization.erc3009Authorization.salt))).toBe(false);
  });

  it("with two providers: a voucher for a channel whose receiver is B's payee goes to B, even on a request routing would send to A", async () => {
    const storage = new InMemoryClientChannelStorage();
    // The session opens its channel with B: a request that asks for B gets B's requirements through the gateway.
    const forB = await required(gateway.url, onlyB("The dog"));
    expect(batchOf(forB).payTo).toBe(await payeeOf(providerB.address));
    expect(forB.accepts).toEqual((await required(providerB.url, ask("The dog"))).accepts);
    const first = await paidChat(payingFetch(storage), onlyB("The dog"));
    expect(first.status).toBe(200);
    await first.json();
    expect(first.headers.get("x-gotong-provider")).toBe(providerB.address);
    const channelB = settledOf(first).extra.channelState.channelId;
    const served = [BigInt(first.headers.get("x-gotong-cost")!)];

    // Without a preference, routing picks A (the cheaper)...
    expect(batchOf(await required(gateway.url, ask("The dog"))).payTo).toBe(await payeeOf(providerA.address));
    // ...but the voucher's channel pays B, so B serves it, and no transaction is sent.
    const voucher = await paymentFor(forB, batchOf(forB), scheme(storage));
    expect(voucher.payload.type).toBe("voucher");
    const block = await net.creator.public.getBlockNumber();
    const before = await balances();
    const res = await post(chatAt(gateway.url), ask("The dog"), signed(voucher));
    expect(res.status).toBe(200);
    await res.json();
    expect(res.headers.get("x-gotong-provider")).toBe(providerB.address);
    served.push(BigInt(res.headers.get("x-gotong-cost")!));
    expect(settledOf(res)).toMatchObject({ success: true, transaction: channelB, extra: { channelState: { chargedCumulativeAmount: (served[0]! + served[1]!).toString() } } });
    expect(await net.creator.public.getBlockNumber()).toBe(block);
    expect(await balances()).toEqual(before);
    expect(charged(providerB, channelB)).toBe(served[0]! + served[1]!);

    // Replayed, it is refused by B with its corrective 402, relayed as B sent it (the resource on the gateway).
    const replay = await post(chatAt(gateway.url), ask("The dog"), signed(voucher));
    expect(replay.status).toBe(402);
    const corrective = requiredOf(replay);
    expect(corrective.error).toBe("invalid_batch_settlement_evm_cumulative_amount_mismatch");
    expect(corrective.resource.url).toBe(`${gateway.url}/v1/chat/completions`);
    expect(batchOf(corrective).extra).toMatchObject({
      channelState: { channelId: channelB, chargedCumulativeAmount: charged(providerB, channelB).toString() },
      voucherState: { signedMaxClaimable: voucher.payload.voucher.maxClaimableAmount, signature: voucher.payload.voucher.signature },
    });
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe("x402_payment_refused");
    expect(await balances()).toEqual(before);

    // B claims what it served on that channel, split to the base unit; A got nothing of it.
    const { royalty, providerShare } = await expectClaimedAndSplit(providerB, served[0]! + served[1]!);
    const after = await balances();
    expect(after).toEqual({ ...before, held: before.held - served[0]! - served[1]!, providerB: before.providerB + providerShare, creator: before.creator + royalty });
    expect(after.gateway).toEqual(gatewayAtStart);
  });
});

function randomSalt(): Hex {
  return `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`;
}
