import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, getAddress, parseEventLogs, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { HTTPFacilitatorClient, decodePaymentRequiredHeader } from "@x402/core/http";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { X402SplitterArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

type Requirements = { scheme: string; network: string; amount: string; asset: string; payTo: string; maxTimeoutSeconds: number; extra?: Record<string, unknown> };

describe("the provider's built-in x402 facilitator", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let token: Address;
  let requirements: Requirements;
  let resource: { url: string };
  const key = `fk-${"3".repeat(40)}`;
  const payer = privateKeyToAccount(generatePrivateKey());
  const facilitator = () => new HTTPFacilitatorClient({ url: `${provider.url}/x402`, createAuthHeaders: async () => ({ verify: { Authorization: `Bearer ${key}` }, settle: { Authorization: `Bearer ${key}` }, supported: {} }) });
  const balanceOf = (account: Address) => net.creator.public.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [account] });
  const balances = async () => ({ payer: await balanceOf(payer.address), provider: await balanceOf(provider.address), creator: await balanceOf(net.creator.account.address) });
  const payment = async (r: Requirements = requirements) => {
    const { payload } = await new ExactEvmScheme(payer).createPaymentPayload(2, r as never);
    return { x402Version: 2, resource, accepted: r, payload } as never;
  };
  const postRaw = (path: string, body: unknown, authorization?: string) =>
    fetch(`${provider.url}/x402/${path}`, { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body: JSON.stringify(body) });

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path, { price: { pricePerMillionInput: 123_456_789n, pricePerMillionOutput: 987_654_321n }, x402FacilitatorKey: key });
    token = net.devnet.deployment.token.address;
    await fundOnDevnet(net.devnet.deployment, payer.address, { tokens: 100n * UNIT });
    // The requirements a resource server would offer for this provider's model: its own 402's.
    const res = await fetch(`${provider.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Hi" }], max_tokens: 4 }) });
    const required = decodePaymentRequiredHeader(res.headers.get("PAYMENT-REQUIRED")!);
    requirements = required.accepts[0] as Requirements;
    resource = required.resource;
  });
  afterAll(() => net?.stop());

  it("says what it supports at GET /supported, with the spec's fields", async () => {
    expect(await facilitator().getSupported()).toEqual({ kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:31337" }], extensions: [], signers: { "eip155:*": [provider.address] } });
  });

  it("refuses /verify and /settle without its key or with another, and settles nothing", async () => {
    const body = { x402Version: 2, paymentPayload: await payment(), paymentRequirements: requirements };
    const before = await balances();
    for (const [path, authorization, code] of [
      ["verify", undefined, "missing_api_key"],
      ["settle", undefined, "missing_api_key"],
      ["settle", `Bearer ${key}x`, "invalid_api_key"],
      ["settle", `Basic ${key}`, "missing_api_key"],
    ] as const) {
      const res = await postRaw(path, body, authorization);
      expect({ path, status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({ path, status: 401, code });
    }
    expect(await balances()).toEqual(before);
  });

  it("verifies a payment without moving anything, and names what is wrong with a bad one", async () => {
    const good = await payment();
    const before = await balances();
    expect(await facilitator().verify(good, requirements as never)).toMatchObject({ isValid: true, payer: payer.address });
    expect(await balances()).toEqual(before);
    const short = await payment({ ...requirements, amount: String(BigInt(requirements.amount) - 1n) });
    expect(await facilitator().verify(short, requirements as never)).toMatchObject({ isValid: false, invalidReason: "invalid_exact_evm_payload_authorization_value_mismatch" });
  });

  it("settles a payment split as a redeem, and refuses the same authorization again", async () => {
    const paid = await payment();
    const before = await balances();
    const settled = await facilitator().settle(paid, requirements as never);
    expect(settled).toMatchObject({ success: true, network: "eip155:31337", payer: payer.address, amount: requirements.amount });
    const amount = BigInt(requirements.amount);
    const royalty = amount / 10n; // the chat model is published at 1000 bps
    const fee = (amount * BigInt(net.devnet.deployment.protocolFeeBps)) / 10_000n;
    const receipt = await net.creator.public.getTransactionReceipt({ hash: settled.transaction as Hex });
    const values = parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: receipt.logs }).map((t) => t.args.value);
    expect(values).toEqual([amount, royalty, fee, amount - royalty - fee]);
    const after = await balances();
    expect({ payer: before.payer - after.payer, provider: after.provider - before.provider, creator: after.creator - before.creator }).toEqual({ payer: amount, provider: amount - royalty - fee, creator: royalty });
    expect(await net.creator.public.readContract({ address: net.devnet.deployment.x402Splitter!, abi: X402SplitterArtifact.abi, functionName: "earnings", args: [net.devnet.deployment.fundingPool] })).toBe(fee);

    const again = await facilitator().settle(paid, requirements as never);
    expect(again).toMatchObject({ success: false, errorReason: "invalid_exact_evm_nonce_already_used", transaction: "" });
    expect(await balances()).toEqual(after);
  });

  it("takes a body shaped as the specification's §7.1 example without a top-level x402Version, from plain fetch", async () => {
    const auth = `Bearer ${key}`;
    const paid = await payment();
    const body = { paymentPayload: paid, paymentRequirements: requirements };
    const before = await balances();
    const verified = await postRaw("verify", body, auth);
    expect({ status: verified.status, body: await verified.json() }).toEqual({ status: 200, body: { isValid: true, payer: payer.address } });
    expect(await balances()).toEqual(before);

    // The version comes from paymentPayload.x402Version: one that is not 2, or a body that says another, is refused by name.
    const reasonOf = async (request: unknown) => ((await (await postRaw("verify", request, auth)).json()) as { invalidReason?: string; invalidMessage?: string });
    const payload = paid as unknown as Record<string, unknown>;
    expect(await reasonOf({ paymentPayload: { ...payload, x402Version: 1 }, paymentRequirements: requirements })).toMatchObject({ invalidReason: "invalid_x402_version", invalidMessage: expect.stringContaining("x402Version 1 is not supported") });
    expect(await reasonOf({ x402Version: 2, paymentPayload: { ...payload, x402Version: 1 }, paymentRequirements: requirements })).toMatchObject({ invalidReason: "invalid_x402_version", invalidMessage: expect.stringContaining("says x402Version 2 but its paymentPayload says 1") });
    expect(await reasonOf({ x402Version: 1, paymentPayload: paid, paymentRequirements: requirements })).toMatchObject({ invalidReason: "invalid_x402_version" });
    expect(await balances()).toEqual(before);

    const settled = await postRaw("settle", body, auth);
    const answer = (await settled.json()) as { success: boolean; transaction: string };
    expect({ status: settled.status, answer }).toEqual({ status: 200, answer: { success: true, payer: payer.address, transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/), network: "eip155:31337", amount: requirements.amount } });
    const after = await balances();
    expect(before.payer - after.payer).toBe(BigInt(requirements.amount));
  });

  it("settles only for this provider's payees, in its token, on its chain", async () => {
    const before = await balances();
    const elsewhere = { ...requirements, payTo: getAddress(privateKeyToAccount(generatePrivateKey()).address) };
    expect(await facilitator().settle(await payment(elsewhere), elsewhere as never)).toMatchObject({ success: false, errorReason: "invalid_exact_evm_payload_recipient_mismatch" });
    const otherChain = { ...requirements, network: "eip155:8453" };
    expect(await facilitator().settle(await payment(otherChain), otherChain as never)).toMatchObject({ success: false, errorReason: "invalid_network" });
    expect(await balances()).toEqual(before);
  });
});
