/**
 * The x402 error reasons Gotong returns (`PaymentRequired.error`, `VerifyResponse.invalidReason`,
 * `SettlementResponse.errorReason`). The specification's own names (x402 v2 §9) wherever it has
 * one; where it has none (a reused nonce, another asset or resource), the name the published
 * `@x402/evm` facilitator uses, or the specification's general `invalid_payment_requirements`.
 */
export const X402_ERROR_REASONS = {
  insufficientFunds: "insufficient_funds",
  validAfter: "invalid_exact_evm_payload_authorization_valid_after",
  validBefore: "invalid_exact_evm_payload_authorization_valid_before",
  valueMismatch: "invalid_exact_evm_payload_authorization_value_mismatch",
  signature: "invalid_exact_evm_payload_signature",
  recipientMismatch: "invalid_exact_evm_payload_recipient_mismatch",
  network: "invalid_network",
  payload: "invalid_payload",
  paymentRequirements: "invalid_payment_requirements",
  unsupportedScheme: "unsupported_scheme",
  x402Version: "invalid_x402_version",
  transactionState: "invalid_transaction_state",
  unexpectedVerify: "unexpected_verify_error",
  unexpectedSettle: "unexpected_settle_error",
  /** Not in the specification's list: `@x402/evm`'s name for an authorization whose nonce was used. */
  nonceAlreadyUsed: "invalid_exact_evm_nonce_already_used",
} as const;

/** One of the reasons above. */
export type X402ErrorReason = (typeof X402_ERROR_REASONS)[keyof typeof X402_ERROR_REASONS];
