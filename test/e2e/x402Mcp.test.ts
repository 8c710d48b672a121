import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { erc20Abi, getAddress, type Address, type Hex, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { x402Client } from "@x402/core/client";
import { decodePaymentRequiredHeader } from "@x402/core/http";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { X402SplitterArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { computeCost, type Price } from "../../src/payments/price.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { haveSharedModels } from "../fixtures/model/sharedModels.ts";
import { startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { exactSplitTransfers, splitOf, tokenTransfersOf } from "../helpers/x402Split.ts";

// Prices with odd digits, so the royalty (10%) and the protocol fee (2%) both round.
const PRICE: Price = { pricePerMillionInput: 123_456_789n, pricePerMillionOutput: 987_654_321n };
const MAX_TOKENS = 8;
const ROYALTY_BPS = 1000n;

type Requirements = { scheme: string; network: string; amount: string; asset: string; payTo: string; maxTimeoutSeconds: number; extra?: Record<string, unknown> };
type PaymentRequired = { x402Version: number; error?: string; resource: { url: string; description?: string; mimeType?: string }; accepts: Requirements[] };
type Payment = { x402Version: number; resource?: PaymentRequired["resource"]; accepted: Requirements; payload: { signature: Hex; authorization: Record<string, string> } };
type ToolResult = {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
};
type Settlement = { success: boolean; transaction: string; network: string; payer?: string; amount?: string; errorReason?: string };

describe.skipIf(!haveSharedModels())("x402 over MCP: a provider's paid tool, _meta[\"x402/payment\"], split as a redeem", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let client: Client;
  let token: Address;
  let splitter: Address;
  let feeBps: bigint;
  const payer = privateKeyToAccount(generatePrivateKey());
  const args = (prompt = "Once upon a time") => ({ prompt, max_tokens: MAX_TOKENS });
  const call = async (toolArgs: Record<string, unknown>, payment?: unknown) =>
    (await client.callTool({ name: "chat", arguments: toolArgs, ...(payment === undefined ? {} : { _meta: { "x402/payment": payment } }) })) as ToolResult;
  const balanceOf = (account: Address) => net.creator.public.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [account] });
  const fees = () => net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "earnings", args: [net.devnet.deployment.fundingPool] });
  const nonceUsed = (from: Address, nonce: Hex) =>
    net.creator.public.readContract({ address: token, abi: [{ type: "function", name: "authorizationState", stateMutability: "view", inputs: [{ type: "address" }, { type: "bytes32" }], outputs: [{ type: "bool" }] }] as const, functionName: "authorizationState", args: [from, nonce] });
  /** Every balance a payment moves: payer, provider, model owner, and the fees the splitter holds. */
  const balances = async () => ({ payer: await balanceOf(payer.address), provider: await balanceOf(provider.address), creator: await balanceOf(net.creator.account.address), fees: await fees() });
  /** The published client, unchanged: its EVM `exact` scheme, and spend controls told about gUSD (capped at 1 gUSD a call). */
  const payingClient = (account: LocalAccount = payer) => {
    const c = new x402Client();
    c.register("eip155:*", new ExactEvmScheme(account));
    c.setSpendControls({ allowedAssets: [{ network: "eip155:31337", asset: token, maxAmountPerPayment: String(UNIT) }] });
    return c;
  };
  /** The PaymentRequired of an unpaid call, as the spec has it: structuredContent, and the same JSON as content[0].text. */
  const requiredOf = (result: ToolResult): PaymentRequired => {
    expect(result.isError).toBe(true);
    expect(result.content[0]!.type).toBe("text");
    expect(JSON.parse(result.content[0]!.text!)).toEqual(result.structuredContent);
    return result.structuredContent as PaymentRequired;
  };
  /** A payment the published scheme signs for `requirements` (changed as a test needs), by `account`. */
  const paymentFor = async (paymentRequired: PaymentRequired, requirements: Requirements, account: LocalAccount = payer): Promise<Payment> => {
    const { payload } = await new ExactEvmScheme(account).createPaymentPayload(2, requirements as never);
    return { x402Version: 2, resource: paymentRequired.resource, accepted: requirements, payload: payload as Payment["payload"] };
  };
  /** Expects the spec's refusal (isError, the PaymentRequired with the reason as `error`), no completion, and no money moved. */
  const refusedAndUncharged = async (payment: Payment, reason: string, toolArgs = args()) => {
    const before = await balances();
    const result = await call(toolArgs, payment);
    const refused = requiredOf(result);
    expect(refused.error).toBe(reason);
    expect(refused.accepts.map((a) => a.scheme)).toEqual(["exact", "batch-settlement"]);
    expect(result.structuredContent!.choices).toBeUndefined();
    expect(result._meta?.["x402/payment-response"]).toBeUndefined();
    expect(await balances()).toEqual(before);
    return result;
  };

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path, { price: PRICE });
    const { deployment } = net.devnet;
    token = deployment.token.address;
    splitter = deployment.x402Splitter!;
    feeBps = BigInt(deployment.protocolFeeBps);
    await fundOnDevnet(deployment, payer.address, { tokens: 100n * UNIT });
    client = new Client({ name: "x402-mcp-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${provider.url}/mcp`)));
  });
  afterAll(async () => {
    await client?.close().catch(() => {});
    await net?.stop();
  });

  it("lists the paid tool chat, its price rule in its description", async () => {
    const { tools } = await client.listTools();
    const chat = tools.find((t) => t.name === "chat");
    expect(chat?.inputSchema.properties).toHaveProperty("max_tokens");
    expect(chat?.description).toContain("x402");
    expect(chat?.description).toContain(`${PRICE.pricePerMillionInput} per million prompt tokens`);
  });

  it("answers an unpaid call with the PaymentRequired: the same requirements as the HTTP door's 402", async () => {
    const paymentRequired = requiredOf(await call(args()));
    const payTo = await net.creator.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "payeeOf", args: [provider.address, net.modelId] });
    expect(paymentRequired).toMatchObject({ x402Version: 2, error: expect.stringContaining('_meta["x402/payment"]'), resource: { url: `${provider.url}/v1/chat/completions`, mimeType: "application/json" } });
    // exact first; batch-settlement beside it, since a devnet has its contracts (test/e2e/x402BatchSettlement.test.ts pays with it).
    expect(paymentRequired.accepts).toEqual([
      { scheme: "exact", network: "eip155:31337", amount: expect.stringMatching(/^[1-9][0-9]*$/), asset: getAddress(token), payTo, maxTimeoutSeconds: 120, extra: { name: "Gotong Test USD", version: "2" } },
      { scheme: "batch-settlement", network: "eip155:31337", amount: paymentRequired.accepts[0]!.amount, asset: getAddress(token), payTo, maxTimeoutSeconds: 120, extra: { name: "Gotong Test USD", version: "2", receiverAuthorizer: provider.address, withdrawDelay: 900 } },
    ]);
    // Priced as the HTTP 402 prices the same chat request.
    const res = await fetch(`${provider.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: MAX_TOKENS }),
    });
    expect(res.status).toBe(402);
    await res.body?.cancel();
    expect((decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!) as PaymentRequired).accepts).toEqual(paymentRequired.accepts);
  });

  it("is paid by @x402/core + @x402/evm, unchanged, in _meta[\"x402/payment\"], settled before it runs and split to the base unit", async () => {
    const paymentRequired = requiredOf(await call(args()));
    const payment = await payingClient().createPaymentPayload(paymentRequired as never);
    const before = await balances();
    const result = await call(args(), payment);
    expect(result.isError).toBeFalsy();
    expect(result.content[0]!.text).toEqual(expect.any(String));
    const completion = result.structuredContent as { object: string; choices: { message: { content: string } }[]; usage: { prompt_tokens: number; completion_tokens: number }; gotong: { cost: string } };
    expect(completion.object).toBe("chat.completion");
    expect(result.content[0]!.text).toBe(completion.choices[0]!.message.content);

    const settlement = result._meta!["x402/payment-response"] as Settlement;
    expect(settlement).toMatchObject({ success: true, network: "eip155:31337", payer: payer.address, transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    // The amount is the request's worst case: its prompt (counted exactly by the embedded engine) and max_tokens.
    const amount = computeCost(PRICE, { inputTokens: completion.usage.prompt_tokens, outputTokens: MAX_TOKENS });
    expect(settlement.amount).toBe(amount.toString());
    expect(paymentRequired.accepts[0]!.amount).toBe(amount.toString());
    expect(BigInt(completion.gotong.cost)).toBeLessThanOrEqual(amount);

    const receipt = await net.creator.public.getTransactionReceipt({ hash: settlement.transaction as Hex });
    expect(receipt.status).toBe("success");
    const payee = getAddress(paymentRequired.accepts[0]!.payTo);
    const { royalty, fee, providerShare } = splitOf(amount, ROYALTY_BPS, feeBps);
    expect(fee).toBeGreaterThan(0n);
    expect(await tokenTransfersOf(net.creator.public, token, settlement.transaction as Hex)).toEqual(
      exactSplitTransfers({ payer: payer.address, payee, creator: net.creator.account.address, splitter, provider: provider.address }, amount, ROYALTY_BPS, feeBps),
    );
    const after = await balances();
    expect({ payer: before.payer - after.payer, provider: after.provider - before.provider, creator: after.creator - before.creator, fees: after.fees - before.fees }).toEqual({
      payer: amount,
      provider: providerShare,
      creator: royalty,
      fees: fee,
    });
  });

  describe("bad payments: each refused with the spec's reason, nothing served, nothing charged", () => {
    let paymentRequired: PaymentRequired;
    let requirements: Requirements;
    beforeAll(async () => {
      paymentRequired = requiredOf(await call(args()));
      requirements = paymentRequired.accepts[0]!;
    });

    it("a reused payment (the same nonce): served once, then refused", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const first = await call(args(), payment);
      expect(first.isError).toBeFalsy();
      expect(first._meta!["x402/payment-response"]).toMatchObject({ success: true });
      await refusedAndUncharged(payment, "invalid_exact_evm_nonce_already_used");
    });

    it("the same payment on two concurrent calls: one is served and paid, the other refused", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const before = await balances();
      const results = await Promise.all([call(args(), payment), call(args(), payment)]);
      const served = results.filter((r) => !r.isError);
      const refused = results.filter((r) => r.isError);
      expect({ served: served.length, refused: refused.length }).toEqual({ served: 1, refused: 1 });
      // Refused before settling (the other holds the authorization) or, had the other's transaction
      // been mined first, by the chain: the same reason either way.
      expect(requiredOf(refused[0]!).error).toBe("invalid_exact_evm_nonce_already_used");
      expect(served[0]!._meta!["x402/payment-response"]).toMatchObject({ success: true, amount: requirements.amount });
      const after = await balances();
      expect(before.payer - after.payer).toBe(BigInt(requirements.amount));
    });

    it("a payment for another amount", async () => {
      const under = await paymentFor(paymentRequired, { ...requirements, amount: (BigInt(requirements.amount) - 1n).toString() });
      await refusedAndUncharged(under, "invalid_exact_evm_payload_authorization_value_mismatch");
      // Claiming the right amount in `accepted` while the signed value is lower is no better.
      const claimed = await paymentFor(paymentRequired, { ...requirements, amount: (BigInt(requirements.amount) - 1n).toString() });
      await refusedAndUncharged({ ...claimed, accepted: requirements }, "invalid_exact_evm_payload_authorization_value_mismatch");
      expect(await nonceUsed(payer.address, claimed.payload.authorization.nonce as Hex)).toBe(false);
    });

    it("a payment made for a cheaper call, sent with a dearer one", async () => {
      // Paid for max_tokens 8, called with 9: the worst case, and so the amount, differ.
      const payment = await paymentFor(paymentRequired, requirements);
      await refusedAndUncharged(payment, "invalid_exact_evm_payload_authorization_value_mismatch", { ...args(), max_tokens: MAX_TOKENS + 1 });
      expect(await nonceUsed(payer.address, payment.payload.authorization.nonce as Hex)).toBe(false);
    });

    it("a payment to another payee", async () => {
      const payment = await paymentFor(paymentRequired, { ...requirements, payTo: privateKeyToAccount(generatePrivateKey()).address });
      await refusedAndUncharged(payment, "invalid_exact_evm_payload_recipient_mismatch");
      expect(await nonceUsed(payer.address, payment.payload.authorization.nonce as Hex)).toBe(false);
    });

    it("a payment signed by another key", async () => {
      const forged = await paymentFor(paymentRequired, requirements, privateKeyToAccount(generatePrivateKey()));
      forged.payload.authorization.from = payer.address;
      await refusedAndUncharged(forged, "invalid_exact_evm_payload_signature");
      expect(await nonceUsed(payer.address, forged.payload.authorization.nonce as Hex)).toBe(false);
    });

    it("a payment for another network", async () => {
      await refusedAndUncharged(await paymentFor(paymentRequired, { ...requirements, network: "eip155:1" }), "invalid_network");
    });

    it("a malformed payment", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      await refusedAndUncharged({ ...payment, payload: { signature: "0x00" } } as unknown as Payment, "invalid_payload");
      await refusedAndUncharged("not a PaymentPayload" as unknown as Payment, "invalid_payload");
    });

    it("bad arguments are refused before any payment is taken", async () => {
      const payment = await paymentFor(paymentRequired, requirements);
      const before = await balances();
      const result = await call({ ...args(), model: "no-such-model" }, payment);
      expect(result.isError).toBe(true);
      expect(result._meta?.["gotong/error"]).toMatchObject({ code: "model_not_found" });
      expect(result._meta?.["x402/payment-response"]).toBeUndefined();
      expect(await balances()).toEqual(before);
      expect(await nonceUsed(payer.address, payment.payload.authorization.nonce as Hex)).toBe(false);
    });
  });
});
