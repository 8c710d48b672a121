import { encodeAbiParameters, getAddress, isAddressEqual, keccak256, type Address, type Hex } from "viem";
import { BATCH_ERROR_REASONS, BATCH_SETTLEMENT_SCHEME, computeChannelId, parseBatchPayload } from "../../protocol/x402/batchSettlement.ts";
import { parseExactEvmPayload } from "../../protocol/x402/x402Codec.ts";
import { X402_ERROR_REASONS } from "../../protocol/x402/x402ErrorReasons.ts";
import type { PaymentPayload } from "../../protocol/x402/x402Types.ts";

/** Whom a client's x402 payment pays, as the gateway needs it to pick the provider and check its receipt. */
export type PaymentTarget = {
  scheme: "exact" | typeof BATCH_SETTLEMENT_SCHEME;
  /** The X402Splitter payee the payment pays: `exact`'s `authorization.to`, a channel's `receiver`. */
  payee: Address;
  /** The channel the provider files the request's receipt under. */
  channelId: Hex;
  /** The reason to refuse a payment whose payee is no offer's the gateway knows (the scheme's name for it). */
  unknownPayeeReason: string;
  /** What became of the payment when the provider it pays did not answer, for the client's hint. */
  ifUnanswered: string;
};

/** A payment the gateway refuses before forwarding anything: the scheme's reason and why. */
export type PaymentTargetRefusal = { reason: string; message: string };

/**
 * Reads whom a payment pays, from the payment alone. `exact`: its authorization's `to`, which must be
 * the `payTo` it accepted. `batch-settlement` (a deposit or a voucher): the `receiver` of the
 * channel config it carries, which must be the `payTo` it accepted, the voucher being for that
 * config's channel on this chain (so a voucher cannot name one channel and be routed by another's
 * receiver). Signatures, amounts and the chain state are the provider's to check.
 *
 * @example const target = readPaymentTarget(payment, 31337); if ("reason" in target) refuse(target.reason, target.message);
 */
export function readPaymentTarget(payment: PaymentPayload, chainId: number): PaymentTarget | PaymentTargetRefusal {
  const payTo = payment.accepted.payTo;
  const isAddress = /^0x[0-9a-fA-F]{40}$/.test(payTo);
  if (payment.accepted.scheme === BATCH_SETTLEMENT_SCHEME) {
    const parsed = parseBatchPayload(payment.payload);
    if (!parsed.ok) return { reason: "wrongType" in parsed ? BATCH_ERROR_REASONS.payloadType : X402_ERROR_REASONS.payload, message: `The batch-settlement payload is malformed: ${parsed.problem}` };
    const { channelConfig, voucher, type } = parsed.value;
    const channelId = computeChannelId(channelConfig, chainId);
    if (channelId.toLowerCase() !== voucher.channelId.toLowerCase()) {
      return { reason: BATCH_ERROR_REASONS.channelIdMismatch, message: `The voucher's channel ${voucher.channelId} is not its config's ${channelId} on chain ${chainId}; nothing was forwarded` };
    }
    if (!isAddress || !isAddressEqual(payTo as Address, channelConfig.receiver)) {
      return { reason: BATCH_ERROR_REASONS.receiverMismatch, message: `The channel pays ${channelConfig.receiver} but the payment's payTo is ${payTo}; nothing was forwarded` };
    }
    return {
      scheme: BATCH_SETTLEMENT_SCHEME,
      payee: getAddress(channelConfig.receiver),
      channelId,
      unknownPayeeReason: BATCH_ERROR_REASONS.receiverMismatch,
      ifUnanswered:
        type === "deposit"
          ? `Unless the provider received and submitted it, the deposit did not move (the token's authorizationState for your address says so) and its authorization lapses at ${parsed.value.deposit.authorization.erc3009Authorization.validBefore}; the voucher can be claimed only by that provider, for what it served.`
          : `A voucher moves nothing by itself: only that provider can claim from channel ${channelId}, and only what it served; the rest of the deposit stays yours (withdraw it after the channel's delay of ${channelConfig.withdrawDelay} s).`,
    };
  }
  const exact = parseExactEvmPayload(payment.payload);
  if (!exact.ok) return { reason: X402_ERROR_REASONS.payload, message: `The exact EVM payload is malformed: ${exact.problem}` };
  const { authorization } = exact.value;
  if (!isAddress || !isAddressEqual(payTo as Address, authorization.to)) {
    return { reason: X402_ERROR_REASONS.recipientMismatch, message: `The authorization pays ${authorization.to} but the payment's payTo is ${payTo}; nothing was forwarded` };
  }
  return {
    scheme: "exact",
    payee: getAddress(authorization.to),
    // The provider files an x402 `exact` request's receipt under its payment: one "channel" per authorization.
    channelId: keccak256(encodeAbiParameters([{ type: "address" }, { type: "bytes32" }], [getAddress(authorization.from), authorization.nonce])),
    unknownPayeeReason: X402_ERROR_REASONS.recipientMismatch,
    ifUnanswered: `Unless the provider received and settled it, it is unspent (the token's authorizationState for your address and nonce ${authorization.nonce} says so) and lapses at ${authorization.validBefore}; sign a new payment for new requirements to be served by another provider.`,
  };
}
