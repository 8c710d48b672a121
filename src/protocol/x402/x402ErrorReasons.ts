/**
 * The x402 error reasons Gotong returns for `exact` (`PaymentRequired.error`,
 * `VerifyResponse.invalidReason`, `SettlementResponse.errorReason`): the names of the x402 v2
 * specification's list (§9 of `specs/x402-specification-v2.md`, as revised on 3 March 2026, when
 * `…_authorization_value` became `…_authorization_value_mismatch`), and for the one refusal that
 * list has no name for (a reused nonce) the name the published `@x402/evm` facilitator uses.
 *
 * Where the published `@x402/evm` 2.27 facilitator departs from §9, Gotong keeps §9's name, since
 * the issue asks for the specification's reasons and no published client branches on a reason:
 * network (§9 `invalid_network`, package `invalid_exact_evm_network_mismatch`), payee
 * (`invalid_exact_evm_payload_recipient_mismatch`, package `invalid_exact_evm_recipient_mismatch`),
 * signature (`invalid_exact_evm_payload_signature`, package `invalid_exact_evm_signature`) and
 * balance (`insufficient_funds`, package `invalid_exact_evm_insufficient_balance`). Another asset or
 * resource is §9's general `invalid_payment_requirements`. `batch-settlement` reasons are not here:
 * the specification has no EVM binding for that scheme, so they are the package's
 * (`BATCH_ERROR_REASONS` in `batchSettlement.ts`).
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
  /** Not in §9: `@x402/evm`'s name for an authorization whose nonce was used. */
  nonceAlreadyUsed: "invalid_exact_evm_nonce_already_used",
} as const;

/** One of the reasons above. */
export type X402ErrorReason = (typeof X402_ERROR_REASONS)[keyof typeof X402_ERROR_REASONS];
