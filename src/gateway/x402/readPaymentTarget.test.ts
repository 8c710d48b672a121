import { describe, expect, it } from "vitest";
import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";
import { computeChannelId, type ChannelConfig } from "../../protocol/x402/batchSettlement.ts";
import type { PaymentPayload, PaymentRequirements } from "../../protocol/x402/x402Types.ts";
import { readPaymentTarget } from "./readPaymentTarget.ts";

const payer: Address = "0x1111111111111111111111111111111111111111";
const payee: Address = "0x2222222222222222222222222222222222222222";
const other: Address = "0x5555555555555555555555555555555555555555";
const config: ChannelConfig = { payer, payerAuthorizer: payer, receiver: payee, receiverAuthorizer: "0x3333333333333333333333333333333333333333", token: "0x4444444444444444444444444444444444444444", withdrawDelay: 900, salt: `0x${"00".repeat(32)}` };
const channelId = computeChannelId(config, 31337);
const accepted = (scheme: string, payTo: string = payee): PaymentRequirements => ({ scheme, network: "eip155:31337", amount: "10", asset: config.token, payTo, maxTimeoutSeconds: 120 });
const voucher = { channelId, maxClaimableAmount: "10", signature: `0x${"ab".repeat(65)}` as Hex };
const batchPayment = (payload: Record<string, unknown>, payTo?: string): PaymentPayload => ({ x402Version: 2, accepted: accepted("batch-settlement", payTo), payload });
const nonce: Hex = `0x${"07".repeat(32)}`;
const exactPayment = (to: Address, payTo: string = payee): PaymentPayload => ({
  x402Version: 2,
  accepted: accepted("exact", payTo),
  payload: { signature: `0x${"cd".repeat(65)}`, authorization: { from: payer, to, value: "10", validAfter: "0", validBefore: "9999999999", nonce } },
});

describe("readPaymentTarget", () => {
  it("reads a voucher's payee from its channel config, and its channel for the receipt", () => {
    expect(readPaymentTarget(batchPayment({ type: "voucher", channelConfig: config, voucher }), 31337)).toMatchObject({
      scheme: "batch-settlement",
      payee,
      channelId,
      unknownPayeeReason: "invalid_batch_settlement_evm_receiver_mismatch",
    });
  });

  it("reads a deposit's payee, and says what became of the deposit when the provider did not answer", () => {
    const deposit = { amount: "500", authorization: { erc3009Authorization: { validAfter: "0", validBefore: "1700000000", salt: `0x${"01".repeat(32)}`, signature: `0x${"cd".repeat(65)}` } } };
    const target = readPaymentTarget(batchPayment({ type: "deposit", channelConfig: config, voucher, deposit }), 31337);
    expect(target).toMatchObject({ scheme: "batch-settlement", payee, channelId });
    expect("ifUnanswered" in target && target.ifUnanswered).toContain("lapses at 1700000000");
  });

  it("refuses a channel whose receiver is not the payTo, a voucher for another channel, and a bad payload", () => {
    expect(readPaymentTarget(batchPayment({ type: "voucher", channelConfig: config, voucher }, other), 31337)).toMatchObject({ reason: "invalid_batch_settlement_evm_receiver_mismatch" });
    // The same config on another chain is another channel.
    expect(readPaymentTarget(batchPayment({ type: "voucher", channelConfig: config, voucher }), 1)).toMatchObject({ reason: "invalid_batch_settlement_evm_channel_id_mismatch" });
    expect(readPaymentTarget(batchPayment({ type: "voucher", channelConfig: { ...config, receiver: other }, voucher }, other), 31337)).toMatchObject({ reason: "invalid_batch_settlement_evm_channel_id_mismatch" });
    expect(readPaymentTarget(batchPayment({ type: "refund", channelConfig: config, voucher }), 31337)).toMatchObject({ reason: "invalid_batch_settlement_evm_payload_type" });
    expect(readPaymentTarget(batchPayment({ type: "voucher", channelConfig: config, voucher: { ...voucher, maxClaimableAmount: "-1" } }), 31337)).toMatchObject({ reason: "invalid_payload" });
  });

  it("reads an exact payment as before: its authorization's to, the receipt filed under (payer, nonce)", () => {
    expect(readPaymentTarget(exactPayment(payee), 31337)).toMatchObject({
      scheme: "exact",
      payee,
      channelId: keccak256(encodeAbiParameters([{ type: "address" }, { type: "bytes32" }], [payer, nonce])),
      unknownPayeeReason: "invalid_exact_evm_payload_recipient_mismatch",
    });
    expect(readPaymentTarget(exactPayment(other), 31337)).toMatchObject({ reason: "invalid_exact_evm_payload_recipient_mismatch" });
    expect(readPaymentTarget({ ...exactPayment(payee), payload: {} }, 31337)).toMatchObject({ reason: "invalid_payload" });
  });
});
