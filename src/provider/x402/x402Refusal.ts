import { GotongError } from "../../common/errors.ts";
import { encodeX402Header } from "../../protocol/x402/x402Codec.ts";
import { X402_ERROR_REASONS } from "../../protocol/x402/x402ErrorReasons.ts";
import { X402_HEADERS, type PaymentRequired, type PaymentRequirements, type SettlementResponse } from "../../protocol/x402/x402Types.ts";

/**
 * A refused x402 payment: a 402 (400 for a malformed payload or version) whose `PAYMENT-REQUIRED`
 * carries `required` with the spec's `reason` as its `error`, and Gotong's JSON error body. `accepts`
 * replaces the requirements (batch-settlement's corrective 402 carries the channel's state in
 * them); `failed` is the `PAYMENT-RESPONSE` of a settlement that was tried and failed.
 *
 * @example throw x402Refusal(required, "invalid_exact_evm_payload_signature", "signed by another key");
 */
export function x402Refusal(required: PaymentRequired, reason: string, message: string, options: { accepts?: PaymentRequirements[]; failed?: SettlementResponse } = {}): GotongError {
  const { accepts, failed } = options;
  const status = reason === X402_ERROR_REASONS.payload || reason === X402_ERROR_REASONS.x402Version ? 400 : 402;
  const headers: Record<string, string> = { [X402_HEADERS.paymentRequired]: encodeX402Header({ ...required, ...(accepts ? { accepts } : {}), error: reason }) };
  if (failed) headers[X402_HEADERS.paymentResponse] = encodeX402Header(failed);
  return new GotongError(`x402 ${failed ? "settlement failed" : "payment refused"} (${reason}): ${message}`, {
    code: failed ? "x402_settlement_failed" : "x402_payment_refused",
    status,
    headers,
    hint: "Sign a new payment for the requirements in the PAYMENT-REQUIRED header.",
  });
}
