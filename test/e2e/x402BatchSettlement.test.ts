import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, getAddress, parseEventLogs, type Address, type Hex, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { BatchSettlementEvmScheme, InMemoryClientChannelStorage, computeChannelId as publishedChannelId } from "@x402/evm/batch-settlement/client";
import { BATCH_SETTLEMENT_ADDRESS as PUBLISHED_BATCH_ADDRESS, ERC3009_DEPOSIT_COLLECTOR_ADDRESS as PUBLISHED_COLLECTOR_ADDRESS, claimBatchTypes, voucherTypes, toClientEvmSigner } from "@x402/evm";
import { X402BatchSettlementArtifact, X402SplitterArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { computeCost, type Price } from "../../src/payments/price.ts";
import {
  BATCH_SETTLEMENT_ADDRESS,
  batchSettlementDomain,
  CLAIM_BATCH_TYPES,
  computeChannelId,
  depositNonce,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  toContractConfig,
  VOUCHER_TYPES,
  type ChannelConfig,
} from "../../src/protocol/x402/batchSettlement.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { installBatchSettlement } from "../../src/chain/installBatchSettlement.ts";
import { startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { waitFor } from "../helpers/waitFor.ts";

// Prices with odd digits, so the royalty (10%) and the protocol fee (2%) both round.
const PRICE: Price = { pricePerMillionInput: 123_456_789n, pricePerMillionOutput: 987_654_321n };
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

describe("x402 batch-settlement: a deposit opens a channel, each request a cumulative voucher, redeemed in a batch with the split", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let token: Address;
  let splitter: Address;
  let feeBps: bigint;
  const payer = privateKeyToAccount(generatePrivateKey());
  const storage = new InMemoryClientChannelStorage();
  const ask = (content = "Once upon a time") => ({ model: net.model.name, messages: [{ role: "user", content }], max_tokens: MAX_TOKENS });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${provider.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const balanceOf = (account: Address) => net.creator.public.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [account] });
  const signer = () => toClientEvmSigner(payer, net.creator.public as never);
  /** The published client's batch-settlement scheme, as an app sets it up (its own storage and salt per channel). */
  const scheme = (options: { salt?: Hex; storage?: InMemoryClientChannelStorage } = {}) =>
    new BatchSettlementEvmScheme(signer(), { storage: options.storage ?? new InMemoryClientChannelStorage(), salt: options.salt, depositPolicy: { depositMultiplier: 50 } });
  /** The published client, unchanged, paying with batch-settlement only; gUSD allowed, at most 1 gUSD a request. */
  const payingFetch = () => {
    const client = new x402Client();
    client.register(NETWORK, scheme({ storage }));
    client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token, maxAmountPerPayment: String(UNIT) }] });
    return wrapFetchWithPayment(fetch, client);
  };
  const paidChat = (f: typeof fetch, body: unknown = ask()) => f(`${provider.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const required = async (path = "/v1/chat/completions", body: unknown = ask()): Promise<PaymentRequired> => {
    const res = await post(path, body);
    expect(res.status).toBe(402);
    await res.text();
    return decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired;
  };
  const batchOf = (p: PaymentRequired) => p.accepts.find((a) => a.scheme === "batch-settlement")!;
  /** A payment made by the published client's scheme for `requirements` (changed as a test needs). */
  const paymentFor = async (paymentRequired: PaymentRequired, requirements: Requirements, by = scheme({ salt: randomSalt() })) => {
    const { payload } = await by.createPaymentPayload(2, requirements as never, { maxAmountPerPayment: String(UNIT) } as never);
    return { x402Version: 2, resource: paymentRequired.resource, accepted: requirements, payload: payload as unknown as BatchPayload };
  };
  const send = (payment: unknown, path = "/v1/chat/completions", body: unknown = ask()) => post(path, body, { "PAYMENT-SIGNATURE": encodePaymentSignatureHeader(payment as never) });
  const channelIdOf = (config: ChannelConfig) => computeChannelId(config, 31337);
  /** The main channel's config, as the client built it (its default salt). */
  const lastConfig = async (): Promise<ChannelConfig> => {
    const requirements = batchOf(await required());
    return { payer: payer.address, payerAuthorizer: payer.address, receiver: getAddress(requirements.payTo), receiverAuthorizer: provider.address, token, withdrawDelay: 900, salt: `0x${"00".repeat(32)}` };
  };
  const charged = (channelId: Hex) => provider.store.getChannel(channelId, 0n).owed;
  const onchain = async (channelId: Hex) => {
    const [balance, totalClaimed] = (await net.creator.public.readContract({ address: BATCH_SETTLEMENT_ADDRESS, abi: X402BatchSettlementArtifact.abi, functionName: "channels", args: [channelId] })) as readonly [bigint, bigint];
    return { balance, totalClaimed };
  };
  /** Everything a payment could move: blocks, the payer's and the contract's tokens, and the provider's charge on the main channel. */
  const snapshot = async () => ({
    block: await net.creator.public.getBlockNumber(),
    payer: await balanceOf(payer.address),
    held: await balanceOf(BATCH_SETTLEMENT_ADDRESS),
    charged: mainChannel ? charged(mainChannel) : 0n,
  });
  let mainChannel: Hex | undefined;
  /** Every cost served on the main channel (x-gotong-cost), in order. */
  const served: bigint[] = [];

  const expectRefused = async (res: Response, reason: string, status = 402) => {
    const body = (await res.json()) as { error: { code: string; message: string }; choices?: unknown };
    expect({ status: res.status, reason: (decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired).error }).toEqual({ status, reason });
    expect(body.error.code).toBe("x402_payment_refused");
    expect(body.error.message).toContain(reason);
    expect(body.choices).toBeUndefined();
    expect(res.headers.get("x-gotong-receipt")).toBeNull();
  };

  beforeAll(async () => {
    net = await startChatNetwork();
    // The devnet has no canonical x402 contracts: Gotong's are installed at their addresses.
    await installBatchSettlement(net.creator.public);
    provider = await net.provider(net.model.path, { price: PRICE });
    const { deployment } = net.devnet;
    token = getAddress(deployment.token.address);
    splitter = deployment.x402Splitter!;
    feeBps = BigInt(deployment.protocolFeeBps);
    await fundOnDevnet(deployment, payer.address, { tokens: 100n * UNIT });
  });
  afterAll(() => net?.stop());

  it("speaks the published binding: its addresses, EIP-712 domain and channel id", async () => {
    expect({ batch: BATCH_SETTLEMENT_ADDRESS, collector: ERC3009_DEPOSIT_COLLECTOR_ADDRESS }).toEqual({ batch: PUBLISHED_BATCH_ADDRESS, collector: PUBLISHED_COLLECTOR_ADDRESS });
    expect(VOUCHER_TYPES).toEqual(voucherTypes);
    expect(CLAIM_BATCH_TYPES).toEqual(claimBatchTypes);
    const config: ChannelConfig = { payer: payer.address, payerAuthorizer: payer.address, receiver: provider.address, receiverAuthorizer: provider.address, token, withdrawDelay: 900, salt: randomSalt() };
    expect(computeChannelId(config, 31337)).toBe(publishedChannelId(config, NETWORK));
    // The installed contract computes the same id under its own (canonical) address.
    expect(await net.creator.public.readContract({ address: BATCH_SETTLEMENT_ADDRESS, abi: X402BatchSettlementArtifact.abi, functionName: "getChannelId", args: [toContractConfig(config)] })).toBe(computeChannelId(config, 31337));
  });

  it("offers exact and batch-settlement in one PAYMENT-REQUIRED", async () => {
    const paymentRequired = await required();
    const payTo = await net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "payeeOf", args: [provider.address, net.modelId] });
    expect(paymentRequired.accepts.map((a) => a.scheme)).toEqual(["exact", "batch-settlement"]);
    expect(batchOf(paymentRequired)).toEqual({
      scheme: "batch-settlement",
      network: NETWORK,
      amount: paymentRequired.accepts[0]!.amount,
      asset: token,
      payTo,
      maxTimeoutSeconds: 120,
      extra: { name: "Gotong Test USD", version: "2", receiverAuthorizer: provider.address, withdrawDelay: 900 },
    });
  });

  it("is paid by @x402/fetch + @x402/evm, unchanged: the first request deposits, the second sends no transaction", async () => {
    const f = payingFetch();
    const before = await balanceOf(payer.address);
    const first = await paidChat(f);
    expect(first.status).toBe(200);
    await first.json();
    const cost1 = BigInt(first.headers.get("x-gotong-cost")!);
    const amount = computeCost(PRICE, { inputTokens: Number(first.headers.get("x-gotong-input-tokens")), outputTokens: MAX_TOKENS });
    const settled1 = decodePaymentResponseHeader(first.headers.get("PAYMENT-RESPONSE")!) as unknown as { success: boolean; transaction: Hex; payer: string; extra: { chargedAmount: string; channelState: { channelId: Hex; chargedCumulativeAmount: string; balance: string } } };
    expect(settled1).toMatchObject({ success: true, network: NETWORK, payer: payer.address, amount: cost1.toString(), extra: { chargedAmount: cost1.toString(), channelState: { chargedCumulativeAmount: cost1.toString() } } });
    mainChannel = settled1.extra.channelState.channelId;
    served.push(cost1);
    // The deposit (the client's default: 50 × the request's worst case) went in by one transaction, through the collector.
    const deposit = (await net.creator.public.getTransactionReceipt({ hash: settled1.transaction })).logs;
    const transfers = parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: deposit.filter((l) => getAddress(l.address) === token) }).map((t) => t.args);
    expect(transfers).toEqual([
      { from: payer.address, to: ERC3009_DEPOSIT_COLLECTOR_ADDRESS, value: 50n * amount },
      { from: ERC3009_DEPOSIT_COLLECTOR_ADDRESS, to: BATCH_SETTLEMENT_ADDRESS, value: 50n * amount },
    ]);
    expect(before - (await balanceOf(payer.address))).toBe(50n * amount);
    expect(await onchain(mainChannel)).toEqual({ balance: 50n * amount, totalClaimed: 0n });
    expect((await storage.get(mainChannel))?.chargedCumulativeAmount).toBe(cost1.toString());

    const block = await net.creator.public.getBlockNumber();
    const nonces = [await net.creator.public.getTransactionCount({ address: payer.address }), await net.creator.public.getTransactionCount({ address: provider.address })];
    const second = await paidChat(f, ask("The cat"));
    expect(second.status).toBe(200);
    await second.json();
    const cost2 = BigInt(second.headers.get("x-gotong-cost")!);
    served.push(cost2);
    expect(decodePaymentResponseHeader(second.headers.get("PAYMENT-RESPONSE")!)).toMatchObject({
      success: true,
      transaction: mainChannel,
      extra: { chargedAmount: cost2.toString(), channelState: { chargedCumulativeAmount: (cost1 + cost2).toString() } },
    });
    expect(await net.creator.public.getBlockNumber()).toBe(block);
    expect([await net.creator.public.getTransactionCount({ address: payer.address }), await net.creator.public.getTransactionCount({ address: provider.address })]).toEqual(nonces);
    expect(charged(mainChannel)).toBe(cost1 + cost2);
    expect((await storage.get(mainChannel))?.chargedCumulativeAmount).toBe((cost1 + cost2).toString());
  });

  it("a streamed answer is charged its cost; the client's next voucher is put right by the corrective 402", async () => {
    const f = payingFetch();
    const before = charged(mainChannel!);
    const stream = await paidChat(f, { ...ask("Lily"), stream: true });
    expect(stream.status).toBe(200);
    expect(decodePaymentResponseHeader(stream.headers.get("PAYMENT-RESPONSE")!)).toMatchObject({ success: true, transaction: mainChannel });
    const text = await stream.text();
    expect(text).toContain("data: [DONE]");
    const streamed = charged(mainChannel!) - before;
    expect(streamed).toBeGreaterThan(0n);
    served.push(streamed);
    const next = await paidChat(f, ask("A dog"));
    expect(next.status).toBe(200);
    await next.json();
    const cost = BigInt(next.headers.get("x-gotong-cost")!);
    served.push(cost);
    expect(charged(mainChannel!)).toBe(before + streamed + cost);
    expect((await storage.get(mainChannel!))?.chargedCumulativeAmount).toBe(charged(mainChannel!).toString());
  });

  it("overlapping requests on one channel: each served one charged once, the others refused uncharged", async () => {
    const f = payingFetch();
    const before = charged(mainChannel!);
    const answers = await Promise.all(["One", "Two", "Three", "Four", "Five"].map((w) => paidChat(f, ask(w))));
    let sum = 0n;
    for (const res of answers) {
      if (res.status === 200) {
        await res.json();
        const cost = BigInt(res.headers.get("x-gotong-cost")!);
        sum += cost;
        served.push(cost);
      } else {
        expect(res.status).toBe(402);
        const reason = (decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired).error;
        expect(["invalid_batch_settlement_evm_channel_busy", "invalid_batch_settlement_evm_cumulative_amount_mismatch"]).toContain(reason);
        expect(res.headers.get("x-gotong-receipt")).toBeNull();
        await res.text();
      }
    }
    expect(answers.some((r) => r.status === 200)).toBe(true);
    expect(charged(mainChannel!)).toBe(before + sum);
    // The client's books and the provider's agree afterwards: the next request is paid as usual.
    const next = await paidChat(f, ask("After"));
    expect(next.status).toBe(200);
    await next.json();
    served.push(BigInt(next.headers.get("x-gotong-cost")!));
    expect(charged(mainChannel!)).toBe(served.reduce((a, b) => a + b, 0n));
  });

  describe("bad payments: each refused with the spec's reason, nothing served, nothing charged", () => {
    let paymentRequired: PaymentRequired;
    let requirements: Requirements;
    beforeAll(async () => {
      paymentRequired = await required();
      requirements = batchOf(paymentRequired);
    });
    const refusedAndUncharged = async (payment: unknown, reason: string, status = 402) => {
      // Money only: the chain's block number once moved by one during a refusal in CI, with every
      // balance and charge unchanged (cause not found; the refusal sends nothing itself).
      const { block: _before, ...before } = await snapshot();
      await expectRefused(await send(payment), reason, status);
      const { block: _after, ...after } = await snapshot();
      expect(after).toEqual(before);
    };
    /** The main channel's next voucher, signed by the published client from its books. */
    const nextVoucher = () => paymentFor(paymentRequired, requirements, scheme({ storage }));

    it("a payment for another chain", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, network: "eip155:1" }), "invalid_batch_settlement_evm_network_mismatch");
    });

    it("a channel in another asset", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, asset: getAddress(net.devnet.deployment.paymentChannels) }), "invalid_batch_settlement_evm_token_mismatch");
    });

    it("a channel to another payee", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, payTo: privateKeyToAccount(generatePrivateKey()).address }), "invalid_batch_settlement_evm_receiver_mismatch");
    });

    it("another amount: accepted, or signed in the voucher", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, amount: (BigInt(requirements.amount) - 1n).toString() }, scheme({ storage })), "invalid_payment_requirements");
      const under = await paymentFor(paymentRequired, { ...requirements, amount: (BigInt(requirements.amount) - 1n).toString() }, scheme({ storage }));
      await refusedAndUncharged({ ...under, accepted: requirements }, "invalid_batch_settlement_evm_cumulative_amount_mismatch");
    });

    it("an expired deposit authorization", async () => {
      // The published client signs validBefore = now + maxTimeoutSeconds: 0 makes it expire at once.
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, maxTimeoutSeconds: 0 }), "invalid_batch_settlement_evm_payload_authorization_valid_before");
    });

    it("a deposit authorization not yet valid", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const now = Math.floor(Date.now() / 1000);
      const auth = payment.payload.deposit!.authorization.erc3009Authorization;
      const channelId = channelIdOf(payment.payload.channelConfig);
      auth.validAfter = String(now + 3600);
      auth.validBefore = String(now + 7200);
      auth.signature = await payer.signTypedData({
        domain: { name: "Gotong Test USD", version: "2", chainId: 31337, verifyingContract: token },
        types: RECEIVE_WITH_AUTHORIZATION_TYPES,
        primaryType: "ReceiveWithAuthorization",
        message: { from: payer.address, to: ERC3009_DEPOSIT_COLLECTOR_ADDRESS, value: BigInt(payment.payload.deposit!.amount), validAfter: BigInt(auth.validAfter), validBefore: BigInt(auth.validBefore), nonce: depositNonce(channelId, auth.salt) },
      });
      await refusedAndUncharged(payment, "invalid_batch_settlement_evm_payload_authorization_valid_after");
    });

    it("a voucher signed by another key", async () => {
      const payment = await nextVoucher();
      expect(payment.payload.type).toBe("voucher");
      const other = privateKeyToAccount(generatePrivateKey());
      payment.payload.voucher.signature = await other.signTypedData({ domain: batchSettlementDomain(31337), types: VOUCHER_TYPES, primaryType: "Voucher", message: { channelId: payment.payload.voucher.channelId, maxClaimableAmount: BigInt(payment.payload.voucher.maxClaimableAmount) } });
      await refusedAndUncharged(payment, "invalid_batch_settlement_evm_voucher_signature");
    });

    it("a deposit signed by another key", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const other: LocalAccount = privateKeyToAccount(generatePrivateKey());
      const auth = payment.payload.deposit!.authorization.erc3009Authorization;
      auth.signature = await other.signTypedData({
        domain: { name: "Gotong Test USD", version: "2", chainId: 31337, verifyingContract: token },
        types: RECEIVE_WITH_AUTHORIZATION_TYPES,
        primaryType: "ReceiveWithAuthorization",
        message: { from: payer.address, to: ERC3009_DEPOSIT_COLLECTOR_ADDRESS, value: BigInt(payment.payload.deposit!.amount), validAfter: BigInt(auth.validAfter), validBefore: BigInt(auth.validBefore), nonce: depositNonce(channelIdOf(payment.payload.channelConfig), auth.salt) },
      });
      await refusedAndUncharged(payment, "invalid_batch_settlement_evm_receive_authorization_signature");
    });

    it("a payment for a different resource", async () => {
      const completions = await required("/v1/completions", { model: net.model.name, prompt: "Once upon a time", max_tokens: MAX_TOKENS });
      await refusedAndUncharged(await paymentFor(completions, batchOf(completions), scheme({ storage })), "invalid_payment_requirements");
    });

    it("a malformed payload, with 400", async () => {
      const payment = await nextVoucher();
      await refusedAndUncharged({ ...payment, payload: { ...payment.payload, voucher: { ...payment.payload.voucher, maxClaimableAmount: "-1" } } }, "invalid_payload", 400);
    });

    it("a reused deposit nonce: served once, then refused", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const first = await send(payment);
      expect(first.status).toBe(200);
      await first.json();
      await refusedAndUncharged(payment, "invalid_batch_settlement_evm_deposit_simulation_failed");
    });

    it("a replayed voucher: refused with the corrective 402, which carries the provider's books", async () => {
      const payment = await nextVoucher();
      const first = await send(payment);
      expect(first.status).toBe(200);
      await first.json();
      const cost = BigInt(first.headers.get("x-gotong-cost")!);
      served.push(cost);
      // The client did not see that answer (sent by hand): its books are one request behind, as a replay's are.
      const before = await snapshot();
      const res = await send(payment);
      const corrective = decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired;
      await expectRefused(res, "invalid_batch_settlement_evm_cumulative_amount_mismatch");
      expect(batchOf(corrective).extra).toMatchObject({
        channelState: { channelId: mainChannel, chargedCumulativeAmount: charged(mainChannel!).toString() },
        voucherState: { signedMaxClaimable: payment.payload.voucher.maxClaimableAmount, signature: payment.payload.voucher.signature },
      });
      expect(await snapshot()).toEqual(before);
      // The published client takes the corrective 402 and pays the next request right.
      const next = await paidChat(payingFetch(), ask("Again"));
      expect(next.status).toBe(200);
      await next.json();
      served.push(BigInt(next.headers.get("x-gotong-cost")!));
    });
  });

  it("after a restart, the redeem claims every served cost in one batch and the split pays royalty, fee and provider to the base unit", async () => {
    const total = served.reduce((a, b) => a + b, 0n);
    expect(charged(mainChannel!)).toBe(total);
    // Nothing was claimed yet: the provider restarts, and claims from what it kept on disk.
    expect((await onchain(mainChannel!)).totalClaimed).toBe(0n);
    const key = (provider as RunningProvider & { key: Hex }).key;
    await provider.stop();
    provider = await net.provider(net.model.path, { price: PRICE, key });
    expect(charged(mainChannel!)).toBe(total);
    const payee = await net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "payeeOf", args: [provider.address, net.modelId] });
    const before = { creator: await balanceOf(net.creator.account.address), provider: await balanceOf(provider.address) };
    const redemption = await provider.x402BatchRedeemer!.redeem();
    expect(redemption).toBeDefined();
    // The main channel and the one paid by hand above, in one claim.
    expect(redemption!.channels).toBe(2);
    expect((await onchain(mainChannel!)).totalClaimed).toBe(total);

    const claimLogs = (await net.creator.public.getTransactionReceipt({ hash: redemption!.claimTransaction })).logs.filter((l) => getAddress(l.address) === token);
    const claimTransfers = parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: claimLogs }).map((t) => t.args);
    expect(claimTransfers).toHaveLength(1);
    expect(claimTransfers[0]).toMatchObject({ from: BATCH_SETTLEMENT_ADDRESS, to: payee });
    const amount = claimTransfers[0]!.value;
    expect(amount).toBe(redemption!.amount);
    // The rest is the other channel's charge (the deposit paid by hand in the reused-nonce test).
    const other = amount - total;
    expect(other).toBeGreaterThan(0n);

    expect(redemption!.splitTransactions).toHaveLength(1);
    const splitLogs = (await net.creator.public.getTransactionReceipt({ hash: redemption!.splitTransactions[0]! })).logs.filter((l) => getAddress(l.address) === token);
    const split = parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: splitLogs }).map((t) => t.args);
    const royalty = (amount * ROYALTY_BPS) / 10_000n;
    const fee = (amount * feeBps) / 10_000n;
    const providerShare = amount - royalty - fee;
    expect(fee).toBeGreaterThan(0n);
    expect(split).toEqual([
      { from: payee, to: net.creator.account.address, value: royalty },
      { from: payee, to: getAddress(splitter), value: fee },
      { from: payee, to: provider.address, value: providerShare },
    ]);
    expect(royalty + fee + providerShare).toBe(total + other);
    expect({ creator: (await balanceOf(net.creator.account.address)) - before.creator, provider: (await balanceOf(provider.address)) - before.provider }).toEqual({ creator: royalty, provider: providerShare });
    // Nothing more to redeem until something more is served.
    expect(await provider.x402BatchRedeemer!.redeem()).toBeUndefined();
  });

  it("a payer who asks to withdraw: what it is served next is claimed at once, and it gets back only the rest", async () => {
    const payerClients = createClients({ rpcUrl: net.devnet.deployment.rpcUrl, chainId: 31337, account: payer });
    const config = { ...(await lastConfig()) };
    await writeAndWait(payerClients, { address: BATCH_SETTLEMENT_ADDRESS, abi: X402BatchSettlementArtifact.abi, functionName: "initiateWithdraw", args: [toContractConfig(config), 2n ** 127n] });
    const res = await paidChat(payingFetch(), ask("Last"));
    expect(res.status).toBe(200);
    await res.json();
    served.push(BigInt(res.headers.get("x-gotong-cost")!));
    const total = served.reduce((a, b) => a + b, 0n);
    // No redeem was asked for: the provider claims by itself, well before the 900 s delay ends.
    await waitFor(async () => (await onchain(mainChannel!)).totalClaimed === total, { what: "the provider's own claim of the withdrawing channel", timeoutMs: 60_000, describe: () => onchain(mainChannel!) });
    const { balance } = await onchain(mainChannel!);
    await net.creator.public.request({ method: "evm_increaseTime" as never, params: [900] as never });
    await net.creator.public.request({ method: "evm_mine" as never, params: [] as never });
    const before = await balanceOf(payer.address);
    await writeAndWait(payerClients, { address: BATCH_SETTLEMENT_ADDRESS, abi: X402BatchSettlementArtifact.abi, functionName: "finalizeWithdraw", args: [toContractConfig(config)] });
    expect((await balanceOf(payer.address)) - before).toBe(balance - total);
    expect(await onchain(mainChannel!)).toEqual({ balance: total, totalClaimed: total });
  });
});

function randomSalt(): Hex {
  return `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`;
}
