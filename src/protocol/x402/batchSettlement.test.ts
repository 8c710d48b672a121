import { describe, expect, it } from "vitest";
import { computeChannelId as publishedChannelId } from "@x402/evm/batch-settlement/client";
import { BATCH_SETTLEMENT_ADDRESS as PUBLISHED_ADDRESS, ERC3009_DEPOSIT_COLLECTOR_ADDRESS as PUBLISHED_COLLECTOR, claimBatchTypes, voucherTypes } from "@x402/evm";
import { BATCH_SETTLEMENT_ADDRESS, CLAIM_BATCH_TYPES, computeChannelId, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, parseBatchPayload, VOUCHER_TYPES, type ChannelConfig } from "./batchSettlement.ts";

const config: ChannelConfig = {
  payer: "0x1111111111111111111111111111111111111111",
  payerAuthorizer: "0x1111111111111111111111111111111111111111",
  receiver: "0x2222222222222222222222222222222222222222",
  receiverAuthorizer: "0x3333333333333333333333333333333333333333",
  token: "0x4444444444444444444444444444444444444444",
  withdrawDelay: 900,
  salt: `0x${"00".repeat(31)}07`,
};
const voucher = { channelId: computeChannelId(config, 31337), maxClaimableAmount: "1234", signature: `0x${"ab".repeat(65)}` as const };

describe("batch-settlement binding", () => {
  it("has the published package's addresses, types and channel ids", () => {
    expect({ a: BATCH_SETTLEMENT_ADDRESS, c: ERC3009_DEPOSIT_COLLECTOR_ADDRESS }).toEqual({ a: PUBLISHED_ADDRESS, c: PUBLISHED_COLLECTOR });
    expect(VOUCHER_TYPES).toEqual(voucherTypes);
    expect(CLAIM_BATCH_TYPES).toEqual(claimBatchTypes);
    for (const chainId of [1, 8453, 31337]) expect(computeChannelId(config, chainId)).toBe(publishedChannelId(config, `eip155:${chainId}`));
  });

  it("parses a voucher and an ERC-3009 deposit payload", () => {
    expect(parseBatchPayload({ type: "voucher", channelConfig: config, voucher })).toEqual({ ok: true, value: { type: "voucher", channelConfig: config, voucher } });
    const deposit = { amount: "5000", authorization: { erc3009Authorization: { validAfter: "0", validBefore: "1700000000", salt: `0x${"01".repeat(32)}`, signature: `0x${"cd".repeat(65)}` } } };
    expect(parseBatchPayload({ type: "deposit", channelConfig: config, voucher, deposit })).toMatchObject({ ok: true, value: { type: "deposit", deposit } });
  });

  it("refuses other payload types, Permit2 deposits and malformed fields", () => {
    expect(parseBatchPayload({ type: "refund", channelConfig: config, voucher })).toMatchObject({ ok: false, wrongType: true });
    expect(parseBatchPayload({ type: "deposit", channelConfig: config, voucher, deposit: { amount: "1", authorization: { permit2Authorization: {} } } })).toMatchObject({ ok: false, wrongType: true });
    const bad = parseBatchPayload({ type: "voucher", channelConfig: { ...config, withdrawDelay: -1 }, voucher: { ...voucher, maxClaimableAmount: "01" } });
    expect(bad.ok).toBe(false);
    expect(bad.ok === false && bad.problem).toMatch(/channelConfig\.withdrawDelay.*voucher\.maxClaimableAmount|voucher\.maxClaimableAmount.*channelConfig\.withdrawDelay/);
    // Beyond uint128 is refused before any signature is checked.
    expect(parseBatchPayload({ type: "voucher", channelConfig: config, voucher: { ...voucher, maxClaimableAmount: (2n ** 128n).toString() } }).ok).toBe(false);
  });
});
