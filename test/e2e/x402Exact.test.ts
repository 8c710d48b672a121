import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, getAddress, type Address, type Hex, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { registerExactEvmScheme, ExactEvmScheme } from "@x402/evm/exact/client";
import { authorizationTypes } from "@x402/evm";
import { PaymentChannelsArtifact, QuadraticFundingArtifact, X402SplitterArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { loadOrCreateKey } from "../../src/common/keys.ts";
import { readProtocolFees } from "../../src/earnings/readProtocolFees.ts";
import { createRound } from "../../src/funding/createRound.ts";
import { getRoundStatus } from "../../src/funding/getRoundStatus.ts";
import { readRound } from "../../src/funding/readRound.ts";
import { setProtocolRound } from "../../src/funding/setProtocolRound.ts";
import { computeCost, type Price } from "../../src/payments/price.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { settleExactPayment } from "../../src/provider/x402/settleExactPayment.ts";
import { runGotong } from "../helpers/cli.ts";
import { exactSplitTransfers, splitOf, tokenTransfersOf } from "../helpers/x402Split.ts";
import { startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

// Prices with odd digits, so the royalty (10%) and the protocol fee (2%) both round.
const PRICE: Price = { pricePerMillionInput: 123_456_789n, pricePerMillionOutput: 987_654_321n };
const MAX_TOKENS = 8;
const ROYALTY_BPS = 1000n;

type Requirements = { scheme: string; network: string; amount: string; asset: string; payTo: string; maxTimeoutSeconds: number; extra?: Record<string, unknown> };
type PaymentRequired = { x402Version: number; error?: string; resource: { url: string; description?: string; mimeType?: string }; accepts: Requirements[] };

describe("x402 exact: any x402 client pays a provider, split as a redeem", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let token: Address;
  let splitter: Address;
  let feeBps: bigint;
  const payerKey = generatePrivateKey();
  const payer = privateKeyToAccount(payerKey);
  const ask = (content = "Once upon a time") => ({ model: net.model.name, messages: [{ role: "user", content }], max_tokens: MAX_TOKENS });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${provider.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const balanceOf = (account: Address) => net.creator.public.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [account] });
  const fees = () => net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "earnings", args: [net.devnet.deployment.fundingPool] });
  const nonceUsed = (from: Address, nonce: Hex) =>
    net.creator.public.readContract({ address: token, abi: [{ type: "function", name: "authorizationState", stateMutability: "view", inputs: [{ type: "address" }, { type: "bytes32" }], outputs: [{ type: "bool" }] }] as const, functionName: "authorizationState", args: [from, nonce] });
  /** Every balance a payment moves: payer, provider, model owner, and the fees the splitter holds. */
  const balances = async () => ({ payer: await balanceOf(payer.address), provider: await balanceOf(provider.address), creator: await balanceOf(net.creator.account.address), fees: await fees() });
  /**
   * The published client as an app sets it up: its EVM `exact` scheme, and its spend controls told
   * about gUSD (only well-known assets such as USDC are allowed by default), capped at 1 gUSD a call.
   */
  const payingClient = () => {
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: payer });
    client.setSpendControls({ allowedAssets: [{ network: "eip155:31337", asset: token, maxAmountPerPayment: String(UNIT) }] });
    return client;
  };
  /** The 402 an unpaid request gets, decoded with @x402/core. */
  const required = async (path = "/v1/chat/completions", body: unknown = ask()): Promise<PaymentRequired> => {
    const res = await post(path, body);
    expect(res.status).toBe(402);
    return decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired;
  };
  /** A payment made by the published client for `requirements` (changed as a test needs), signed by `account`. */
  const paymentFor = async (paymentRequired: PaymentRequired, requirements: Requirements, account: LocalAccount = payer) => {
    const { payload } = await new ExactEvmScheme(account).createPaymentPayload(2, requirements as never);
    return { x402Version: 2, resource: paymentRequired.resource, accepted: requirements, payload: payload as { signature: Hex; authorization: Record<string, string> } };
  };
  const send = (payment: unknown, path = "/v1/chat/completions") => post(path, ask(), { "PAYMENT-SIGNATURE": encodePaymentSignatureHeader(payment as never) });
  /** Expects the spec's refusal: status, PAYMENT-REQUIRED with the reason as `error`, Gotong's JSON error body, no answer. */
  const expectRefused = async (res: Response, reason: string, status = 402, codes = ["x402_payment_refused"]) => {
    const body = (await res.json()) as { error: { code: string; message: string }; choices?: unknown };
    expect({ status: res.status, reason: (decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired).error }).toEqual({ status, reason });
    expect(codes).toContain(body.error.code);
    expect(body.error.message).toContain(reason);
    expect(body.choices).toBeUndefined();
    expect(res.headers.get("x-gotong-receipt")).toBeNull();
  };

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path, { price: PRICE });
    const { deployment } = net.devnet;
    token = deployment.token.address;
    splitter = deployment.x402Splitter!;
    feeBps = BigInt(deployment.protocolFeeBps);
    await fundOnDevnet(deployment, payer.address, { tokens: 100n * UNIT });
  });
  afterAll(() => net?.stop());

  it("answers an unpaid request with 402, PAYMENT-REQUIRED and Gotong's JSON error", async () => {
    const res = await post("/v1/chat/completions", ask());
    expect(res.status).toBe(402);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("voucher_missing");
    const paymentRequired = decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired;
    const payTo = await net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "payeeOf", args: [provider.address, net.modelId] });
    expect(paymentRequired).toMatchObject({ x402Version: 2, error: "PAYMENT-SIGNATURE header is required", resource: { url: `${provider.url}/v1/chat/completions`, mimeType: "application/json" } });
    // exact first; batch-settlement beside it, since a devnet has its contracts (test/e2e/x402BatchSettlement.test.ts pays with it).
    expect(paymentRequired.accepts).toEqual([
      { scheme: "exact", network: "eip155:31337", amount: expect.stringMatching(/^[1-9][0-9]*$/), asset: getAddress(token), payTo, maxTimeoutSeconds: 120, extra: { name: "Gotong Test USD", version: "2" } },
      { scheme: "batch-settlement", network: "eip155:31337", amount: paymentRequired.accepts[0]!.amount, asset: getAddress(token), payTo, maxTimeoutSeconds: 120, extra: { name: "Gotong Test USD", version: "2", receiverAuthorizer: provider.address, withdrawDelay: 900 } },
    ]);
  });

  it("is paid by @x402/fetch + @x402/evm, unchanged, and the payment is split to the base unit", async () => {
    const client = payingClient();
    const payingFetch = wrapFetchWithPayment(fetch, client);
    const before = await balances();
    const res = await payingFetch(`${provider.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ask()) });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(answer.choices).toHaveLength(1);

    const settlement = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")!);
    expect(settlement).toMatchObject({ success: true, network: "eip155:31337", payer: payer.address });
    // The amount is the request's worst case: its prompt (counted exactly by the embedded engine) and max_tokens.
    const inputTokens = Number(res.headers.get("x-gotong-input-tokens"));
    const amount = computeCost(PRICE, { inputTokens, outputTokens: MAX_TOKENS });
    expect(settlement.amount).toBe(amount.toString());
    expect(BigInt(res.headers.get("x-gotong-cost")!)).toBeLessThanOrEqual(amount);
    expect(res.headers.get("x-gotong-receipt")).toBeTruthy();

    const transfers = await tokenTransfersOf(net.creator.public, token, settlement.transaction as Hex);
    const payee = getAddress(transfers[0]!.to);
    const { royalty, fee, providerShare } = splitOf(amount, ROYALTY_BPS, feeBps);
    expect(fee).toBeGreaterThan(0n);
    expect(transfers).toEqual(exactSplitTransfers({ payer: payer.address, payee, creator: net.creator.account.address, splitter, provider: provider.address }, amount, ROYALTY_BPS, feeBps));
    expect(royalty + fee + providerShare).toBe(amount);

    const after = await balances();
    expect({ payer: before.payer - after.payer, provider: after.provider - before.provider, creator: after.creator - before.creator, fees: after.fees - before.fees }).toEqual({
      payer: amount,
      provider: providerShare,
      creator: royalty,
      fees: fee,
    });
  });

  it("is paid again for a streamed answer, PAYMENT-RESPONSE in the headers before the first event", async () => {
    const client = payingClient();
    const res = await wrapFetchWithPayment(fetch, client)(`${provider.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...ask("Lily"), stream: true }),
    });
    expect(res.status).toBe(200);
    expect(decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")!)).toMatchObject({ success: true, payer: payer.address });
    expect(await res.text()).toContain("data: [DONE]");
  });

  describe("bad payments: each refused with the spec's reason, nothing served, nothing charged", () => {
    let paymentRequired: PaymentRequired;
    let requirements: Requirements;
    beforeAll(async () => {
      paymentRequired = await required();
      requirements = paymentRequired.accepts[0]!;
    });

    const refusedAndUncharged = async (payment: Awaited<ReturnType<typeof paymentFor>>, reason: string, path?: string, status?: number) => {
      const before = await balances();
      await expectRefused(await send(payment, path), reason, status);
      expect(await balances()).toEqual(before);
      expect(await nonceUsed(payer.address, payment.payload.authorization.nonce as Hex)).toBe(false);
    };

    it("an authorization for another chain", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, network: "eip155:1" }), "invalid_network");
    });

    it("an authorization in another asset", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, asset: getAddress(net.devnet.deployment.paymentChannels) }), "invalid_payment_requirements");
    });

    it("an authorization to another payee", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, payTo: privateKeyToAccount(generatePrivateKey()).address }), "invalid_exact_evm_payload_recipient_mismatch");
    });

    it("an authorization for another amount", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, amount: (BigInt(requirements.amount) - 1n).toString() }), "invalid_exact_evm_payload_authorization_value_mismatch");
      // Claiming the right amount in `accepted` while the signed value is lower is no better.
      const under = await paymentFor(paymentRequired, { ...requirements, amount: (BigInt(requirements.amount) - 1n).toString() });
      await refusedAndUncharged({ ...under, accepted: requirements }, "invalid_exact_evm_payload_authorization_value_mismatch");
    });

    it("an expired authorization", async () => {
      // The published client signs validBefore = now + maxTimeoutSeconds: 0 makes it expire at once.
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, maxTimeoutSeconds: 0 }), "invalid_exact_evm_payload_authorization_valid_before");
    });

    it("an authorization not yet valid", async () => {
      const now = Math.floor(Date.now() / 1000);
      const authorization = { from: payer.address, to: getAddress(requirements.payTo), value: requirements.amount, validAfter: String(now + 3600), validBefore: String(now + 7200), nonce: `0x${"5a".repeat(32)}` as Hex };
      const signature = await payer.signTypedData({
        domain: { name: "Gotong Test USD", version: "2", chainId: 31337, verifyingContract: getAddress(token) },
        types: authorizationTypes,
        primaryType: "TransferWithAuthorization",
        message: { ...authorization, value: BigInt(authorization.value), validAfter: BigInt(authorization.validAfter), validBefore: BigInt(authorization.validBefore) },
      });
      await refusedAndUncharged({ x402Version: 2, resource: paymentRequired.resource, accepted: requirements, payload: { signature, authorization } }, "invalid_exact_evm_payload_authorization_valid_after");
    });

    it("an authorization signed by another key", async () => {
      const forged = await paymentFor(paymentRequired, requirements, privateKeyToAccount(generatePrivateKey()));
      forged.payload.authorization.from = payer.address;
      await refusedAndUncharged(forged, "invalid_exact_evm_payload_signature");
    });

    it("a payment for a different resource", async () => {
      const completions = await required("/v1/completions", { model: net.model.name, prompt: "Once upon a time", max_tokens: MAX_TOKENS });
      await refusedAndUncharged(await paymentFor(completions, completions.accepts[0]!), "invalid_payment_requirements");
    });

    it("a malformed PAYMENT-SIGNATURE header, with 400", async () => {
      const before = await balances();
      await expectRefused(await post("/v1/chat/completions", ask(), { "PAYMENT-SIGNATURE": "not base64 JSON" }), "invalid_payload", 400);
      expect(await balances()).toEqual(before);
    });

    it("a reused nonce: served once, then refused", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const first = await send(payment);
      expect(first.status).toBe(200);
      await first.json();
      const before = await balances();
      await expectRefused(await send(payment), "invalid_exact_evm_nonce_already_used");
      expect(await balances()).toEqual(before);
    });

    it("a settlement the chain refuses comes back with the spec's reason, and moves nothing", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const { authorization, signature } = payment.payload as unknown as { authorization: Parameters<typeof settleExactPayment>[1]["authorization"]; signature: Hex };
      // Anyone may submit it (the money can only go along the split): here, the model's creator.
      const args = { splitter, provider: provider.address, modelId: net.modelId, authorization, signature };
      expect(await settleExactPayment(net.creator, args)).toMatchObject({ ok: true, amount: BigInt(requirements.amount) });
      const before = await balances();
      expect(await settleExactPayment(net.creator, args)).toMatchObject({ ok: false, reason: "invalid_exact_evm_nonce_already_used" });
      expect(await settleExactPayment(net.creator, { ...args, modelId: net.modelId + 1n })).toMatchObject({ ok: false, reason: "invalid_exact_evm_payload_signature" });
      expect(await balances()).toEqual(before);
    });

    it("the same authorization on two concurrent requests: one is served and paid, the other refused", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const before = await balances();
      const answers = await Promise.all([send(payment), send(payment)]);
      expect(answers.map((r) => r.status).sort()).toEqual([200, 402]);
      const refused = answers.find((r) => r.status === 402)!;
      // Refused before settling (the other holds the authorization) or, had the other's transaction
      // been mined first, by the chain: the same reason either way.
      await expectRefused(refused, "invalid_exact_evm_nonce_already_used", 402, ["x402_payment_refused", "x402_settlement_failed"]);
      await answers.find((r) => r.status === 200)!.json();
      const after = await balances();
      expect(before.payer - after.payer).toBe(BigInt(requirements.amount));
    });
  });

  it("the protocol fee of x402 payments ends in the protocol round's pool, to the base unit", async () => {
    const { deployment } = net.devnet;
    const qf = deployment.quadraticFunding!;
    const qfBalance = () => balanceOf(qf);
    const voucherFees = () => net.creator.public.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "earnings", args: [qf] });
    expect(await net.creator.public.readContract({ address: qf, abi: QuadraticFundingArtifact.abi, functionName: "x402Splitter" })).toBe(getAddress(splitter));
    // A protocol round, designated by the devnet's steward (keys/funding-pool.key).
    const steward = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(loadOrCreateKey(net.home.keys, "funding-pool")) });
    await fundOnDevnet(deployment, steward.account.address, {});
    const roundId = await createRound(net.creator, deployment);
    await setProtocolRound(steward, deployment, roundId);

    // The fees of the payments above wait in the splitter; one more x402 payment adds its own.
    const waiting = await fees();
    expect(waiting).toBeGreaterThan(0n);
    const res = await wrapFetchWithPayment(fetch, payingClient())(`${provider.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ask("The dog")) });
    expect(res.status).toBe(200);
    await res.json();
    const amount = BigInt(decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")!).amount!);
    const fee = (amount * feeBps) / 10_000n;
    expect(await fees()).toBe(waiting + fee);
    const vouchers = await voucherFees(); // none are redeemed on this network, but count them if any were
    const owed = waiting + fee + vouchers;

    // Everything the splitter credited, read from its PaymentSplit events, is what it holds.
    const books = await readProtocolFees(net.creator.public, deployment);
    expect(books.x402).toEqual({ credited: waiting + fee, pending: waiting + fee });
    expect(books.pending).toBe(owed);
    // The round's live estimate counts the x402 fees before anyone collects them.
    const status = await getRoundStatus(net.creator.public, deployment, roundId);
    expect({ pendingProtocolFees: status.pendingProtocolFees, pool: status.pool }).toEqual({ pendingProtocolFees: owed, pool: owed });

    // `gotong fund collect` moves them into the round's pool, to the base unit.
    const heldBefore = await qfBalance();
    const collect = await runGotong(["fund", "collect", "--json", "--home", net.home.root]);
    expect(collect.code, collect.stderr).toBe(0);
    expect(JSON.parse(collect.stdout)).toEqual({ collected: String(owed) });
    expect((await readRound(net.creator.public, deployment, roundId)).pool).toBe(owed);
    expect(await qfBalance()).toBe(heldBefore + owed);
    expect(await fees()).toBe(0n);
    expect(await balanceOf(splitter)).toBe(0n);
    const after = await readProtocolFees(net.creator.public, deployment);
    expect({ pending: after.pending, collected: after.collected, x402: after.x402 }).toEqual({ pending: 0n, collected: owed, x402: { credited: waiting + fee, pending: 0n } });
  });
});
