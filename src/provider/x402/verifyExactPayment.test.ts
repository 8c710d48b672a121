import { describe, expect, it } from "vitest";
import { getAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import type { PaymentPayload, PaymentRequirements } from "../../protocol/x402/x402Types.ts";
import { verifyExactPayment, type PayerState } from "./verifyExactPayment.ts";

const payer = privateKeyToAccount(generatePrivateKey());
const token = getAddress("0x036cbd53842c5426634e7929541ec2318f3dcf7e");
const payTo = getAddress("0x209693bc6afc0c5328ba36faf03c514ef312287c");
const domain = { name: "Gotong Test USD", version: "2" };
const required: PaymentRequirements = { scheme: "exact", network: "eip155:31337", amount: "123456", asset: token, payTo, maxTimeoutSeconds: 120, extra: domain };
const resource = { url: "http://127.0.0.1:8601/v1/chat/completions" };
const now = () => BigInt(Math.floor(Date.now() / 1000));
const fine: PayerState = { balance: 10n ** 12n, nonceUsed: false, now: now() };

/** A payment signed by the published client for `requirements`. */
async function pay(requirements: PaymentRequirements = required, account = payer): Promise<PaymentPayload> {
  const { payload } = await new ExactEvmScheme(account).createPaymentPayload(2, requirements as never);
  return { x402Version: 2, resource, accepted: requirements, payload: payload as Record<string, unknown> };
}

const verify = (payment: PaymentPayload, state: Partial<PayerState> = {}, path = "/v1/chat/completions") =>
  verifyExactPayment({ payment, required, chainId: 31337, path, domain, readState: async () => ({ ...fine, now: now(), ...state }) });

describe("verifyExactPayment", () => {
  it("accepts what the published client signs for the requirements, naming the payer", async () => {
    const verdict = await verify(await pay());
    expect(verdict).toMatchObject({ ok: true, payer: payer.address });
  });

  it("refuses each thing wrong with the specification's reason", async () => {
    const cases: [string, PaymentPayload | Promise<PaymentPayload>, Partial<PayerState>?][] = [
      ["invalid_x402_version", pay().then((p) => ({ ...p, x402Version: 1 }))],
      ["unsupported_scheme", pay({ ...required, scheme: "upto" })],
      ["invalid_network", pay({ ...required, network: "eip155:8453" })],
      ["invalid_payment_requirements", pay({ ...required, asset: payTo })],
      ["invalid_exact_evm_payload_recipient_mismatch", pay({ ...required, payTo: token })],
      ["invalid_exact_evm_payload_authorization_value_mismatch", pay({ ...required, amount: "123455" })],
      ["invalid_exact_evm_payload_authorization_valid_before", pay({ ...required, maxTimeoutSeconds: 5 })],
      ["invalid_exact_evm_nonce_already_used", pay(), { nonceUsed: true }],
      ["insufficient_funds", pay(), { balance: 123455n }],
      ["invalid_payload", pay().then((p) => ({ ...p, payload: { signature: "0x00" } }))],
    ];
    for (const [reason, payment, state] of cases) {
      const verdict = await verify(await payment, state);
      expect({ reason, got: verdict.ok ? "ok" : verdict.reason }).toEqual({ reason, got: reason });
    }
  });

  it("refuses a signature by another key, and an authorization changed after signing", async () => {
    const forged = await pay(required, privateKeyToAccount(generatePrivateKey()));
    (forged.payload.authorization as { from: Address }).from = payer.address;
    expect(await verify(forged)).toMatchObject({ ok: false, reason: "invalid_exact_evm_payload_signature" });
    const later = await pay();
    (later.payload.authorization as { validBefore: string }).validBefore = String(now() + 100_000n);
    expect(await verify(later)).toMatchObject({ ok: false, reason: "invalid_exact_evm_payload_signature" });
    const garbled = await pay();
    (garbled.payload as { signature: Hex }).signature = `0x${"00".repeat(65)}`;
    expect(await verify(garbled)).toMatchObject({ ok: false, reason: "invalid_exact_evm_payload_signature" });
  });

  it("refuses a payment for another resource, and one not yet valid", async () => {
    expect(await verify(await pay(), {}, "/v1/completions")).toMatchObject({ ok: false, reason: "invalid_payment_requirements" });
    // validAfter is 0 in what the client signs: a chain clock at 0 has not passed it.
    expect(await verify(await pay(), { now: 0n })).toMatchObject({ ok: false, reason: "invalid_exact_evm_payload_authorization_valid_after" });
  });
});
