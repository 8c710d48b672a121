/**
 * Every error code Gotong puts on a GotongError, by domain, as `as const` lists.
 *
 * Why here, in `src/protocol`: a code is part of the wire protocol. It leaves the process in the
 * OpenAI-style error body (`error.code`), and gateways, the agent SDK, the web page and scripts
 * match on it, so it must never change spelling; the one home of what crosses the wire is
 * `src/protocol`. This module imports nothing, so every layer can use it: `src/common/errors.ts`
 * takes the {@link GotongErrorCode} type from it with a type-only import (common stays the lowest
 * layer at run time), and the browser bundle imports it as plain constants.
 *
 * Each domain's `errors.ts` (`src/chain/errors.ts`, `src/model/errors.ts`, …) re-exports its list
 * and builds its errors. A new code goes into its domain's list here; `tsc` refuses any other
 * string as a GotongError code, so a typo in `isGotongError(e, "…")` cannot go unnoticed.
 */

/** Codes any layer uses: bad input, HTTP plumbing, local state. */
export const commonErrorCodes = [
  "invalid_arguments",
  "invalid_parameter",
  "invalid_json",
  "invalid_key",
  "invalid_key_role",
  "body_timeout",
  "body_too_large",
  "unsupported_content_type",
  // Provider and gateway speak different versions of the wire protocol (src/protocol/wire.ts).
  "protocol_version_mismatch",
  // An SSE event (or the bytes before it) larger than the decoder keeps (src/protocol/events.ts).
  "event_too_large",
  "method_not_allowed",
  "not_found",
  "not_ready",
  "too_many_requests",
  "internal_error",
  "server_error",
  "cancelled",
  "database_unavailable",
  "state_locked",
  "store_migration_failed",
  "store_too_new",
  "store_unknown_version",
] as const;

/** The chain: the devnet, RPC, deployments, transactions and contract refusals. */
export const chainErrorCodes = [
  "anvil_failed",
  "anvil_missing",
  "anvil_port_in_use",
  "chain_error",
  "chain_unreachable",
  "chain_mismatch",
  "contract_revert",
  "contract_refused",
  "deploy_failed",
  // `gotong deploy`: the code at an address is not this build's; a progress file from another deploy;
  // a payment token the contracts cannot account exactly (fee on transfer, no decimals).
  "deploy_code_mismatch",
  "deploy_progress_mismatch",
  "token_unsupported",
  "deployment_invalid",
  "deployment_missing",
  "insufficient_funds",
  "not_devnet",
  "transaction_reverted",
  "transaction_pending",
] as const;

/** Models and datasets: files, GGUF and safetensors headers, manifests, downloads, lineage, the registries. */
export const modelErrorCodes = [
  "dataset_file_mismatch",
  "dispute_not_found",
  "dispute_open",
  "dispute_undecided",
  "dataset_grant_invalid",
  "dataset_grant_not_approved",
  "dataset_key_missing",
  "dataset_manifest_invalid",
  "dataset_manifest_mismatch",
  "dataset_manifest_not_found",
  "dataset_not_found",
  "dataset_not_owner",
  "dataset_registry_missing",
  "gguf_header_incomplete",
  "gguf_header_too_large",
  "gguf_invalid",
  "gguf_not_gguf",
  "gguf_truncated",
  "gguf_unsupported_version",
  "safetensors_header_incomplete",
  "safetensors_header_too_large",
  "safetensors_invalid",
  "safetensors_truncated",
  "manifest_corrupt",
  "manifest_invalid",
  "manifest_not_found",
  "manifest_registry_mismatch",
  "manifest_signature_invalid",
  "manifest_signature_mismatch",
  "manifest_unreadable",
  "manifest_wrong_creator",
  "manifest_wrong_deployment",
  "model_already_registered",
  "model_ambiguous",
  "model_architecture_unknown",
  "model_disk_error",
  "model_download_failed",
  "model_download_forbidden",
  "model_download_interrupted",
  "model_download_network",
  "model_download_not_found",
  "model_download_url_invalid",
  "model_file_changed",
  "model_file_hash_mismatch",
  "model_file_missing",
  "model_file_not_found",
  "model_file_unreadable",
  "model_file_unsigned",
  "model_folder_invalid",
  "model_folder_unknown_file",
  "model_format_pickle",
  "model_format_unsupported",
  "model_hash_mismatch",
  "model_load_failed",
  "model_not_found",
  "model_not_registered",
  "model_lineage_refused",
  "model_parent_undeclared",
  "model_share_below_terms",
  "model_sha256_invalid",
  "model_shard_mismatch",
  "model_shard_missing",
  "model_size_mismatch",
  "model_symlink_escapes",
  "model_terms_differ",
  "model_verification_failed",
  "not_model_owner",
  "royalty_too_high",
  "royalties_pending",
  // A GGUF whose vocabulary the TypeScript tokenizer cannot count exactly (not SentencePiece, or no tokens).
  "tokenizer_unsupported",
  "weights_hash_mismatch",
] as const;

/** Payments: channels, vouchers and receipts, as provider and gateway check them. */
export const paymentsErrorCodes = [
  "channel_already_closing",
  "channel_busy",
  "channel_closed",
  "channel_closing",
  "channel_history_missing",
  "channel_not_closing",
  "channel_not_found",
  "channel_not_open",
  "channel_open_failed",
  "channel_wrong_model",
  "channel_wrong_provider",
  "challenge_period_active",
  "insufficient_balance",
  "insufficient_deposit",
  "not_channel_sender",
  "voucher_below_owed",
  "voucher_exceeds_deposit",
  "voucher_malformed",
  "voucher_missing",
  "voucher_signature_invalid",
  "voucher_wrong_epoch",
  "receipt_missing",
  "receipt_not_found",
  "receipt_overcharge",
  "receipt_overcount",
  "receipt_signature_invalid",
  "receipt_wrong_channel",
  "receipt_wrong_request",
  "receipt_wrong_weights",
  "withdraw_not_found",
  "nothing_to_withdraw",
  // x402 (src/provider/x402): a payment that does not pay this request, one the chain refused, no EIP-3009 token.
  "x402_payment_refused",
  "x402_settlement_failed",
  "x402_unavailable",
] as const;

/** Privacy: HPKE, sealed envelopes and sealed response streams (see src/privacy/errors.ts). */
export const privacyErrorCodes = [
  "envelope_invalid",
  "hpke_argument_invalid",
  "hpke_private_key_invalid",
  "hpke_public_key_invalid",
  "hpke_sequence_exhausted",
  "stream_after_final",
  "stream_exhausted",
  "stream_finished",
  "stream_frame_too_large",
  "stream_out_of_order",
  "stream_truncated",
  "sealing_unavailable",
] as const;

/** The provider: serving, metering, staking, redeeming. */
export const providerErrorCodes = [
  "capability_unavailable",
  "context_length_exceeded",
  "not_registered",
  "nothing_staked",
  "nothing_unbonding",
  "overloaded",
  "redeem_failed",
  "request_id_missing",
  "request_id_reused",
  "storage_failed",
  "unbonding",
  "upstream_error",
  "upstream_unreachable",
] as const;

/** The gateway: routing, failover, API keys, relays. */
export const gatewayErrorCodes = [
  "api_key_not_found",
  // A challenge's answer holds no single text to build evidence from (a tool call, a failed stream).
  "challenge_answer_unusable",
  "cross_origin_refused",
  "host_refused",
  "insufficient_quota",
  "item_not_found",
  "invalid_api_key",
  "missing_api_key",
  "no_matching_provider",
  "no_provider",
  "no_provider_available",
  "no_provider_ready",
  "previous_response_not_found",
  // A provider kept answering in ways that call for sending the request again (a busy channel, an
  // unsettled balance) until the gateway gave up on it and tried the next one.
  "provider_retries_exhausted",
  "provider_stream_cut",
  "provider_unavailable",
  "provider_unsealed",
  "rate_limit_exceeded",
  "relay_not_prepared",
  "request_replayed",
  "response_not_found",
  "tool_not_supported",
  // No validator the gateway knows (--validator, or registered on-chain) gave a verdict.
  "validator_unavailable",
] as const;

/** Funding: quadratic-funding rounds, donations, claims. */
export const fundingErrorCodes = [
  "funding_not_deployed",
  "funding_unavailable",
  "not_recipient",
  "project_not_found",
  "round_finalized",
  "round_not_found",
  "round_open",
] as const;

/** Agents: agent wallets, their policy, the SDK and the MCP server. */
export const agentErrorCodes = [
  "agent_closed",
  "agent_exists",
  "agent_expired",
  "agent_not_found",
  "agent_revoked",
  "agents_not_deployed",
  "budget_exceeded",
  "call_not_allowed",
  "chat_failed",
  "invalid_period",
  "invalid_policy",
  "no_budget",
  "not_agent",
  "not_owner",
  "over_transaction_cap",
  "wallet_not_found",
  "wallet_paused",
] as const;

/** The web app and the gateway routes that serve it (page, local wallet, browser wallets). */
export const webErrorCodes = [
  "aborted",
  "donation_failed",
  "empty_prompt",
  "error",
  "history_file_invalid",
  "invalid_amount",
  "local_wallet_unavailable",
  "network_down",
  "no_account",
  "no_model",
  "no_project",
  "no_wallet",
  "not_provider",
  "prompt_too_long",
  "provider_error",
  "provider_key_mismatch",
  "provider_key_unchecked",
  "stream_error",
  "unexpected_answer",
  "wallet_error",
  "wallet_forbidden",
  "wallet_rejected",
  "wallet_unauthorized",
  "wrong_chain",
] as const;

/** The `gotong` command: local state it reads, gateways it talks to. */
export const cliErrorCodes = [
  "gateway_unknown",
  "gateway_unreachable",
  "no_api_keys",
  "no_channels",
  "no_gateway_state",
  "no_keys",
  "no_provider_key",
  "no_receipts",
] as const;

export type CommonErrorCode = (typeof commonErrorCodes)[number];
export type ChainErrorCode = (typeof chainErrorCodes)[number];
export type ModelErrorCode = (typeof modelErrorCodes)[number];
export type PaymentsErrorCode = (typeof paymentsErrorCodes)[number];
export type PrivacyErrorCode = (typeof privacyErrorCodes)[number];
export type ProviderErrorCode = (typeof providerErrorCodes)[number];
export type GatewayErrorCode = (typeof gatewayErrorCodes)[number];
export type FundingErrorCode = (typeof fundingErrorCodes)[number];
export type AgentErrorCode = (typeof agentErrorCodes)[number];
export type WebErrorCode = (typeof webErrorCodes)[number];
export type CliErrorCode = (typeof cliErrorCodes)[number];

/**
 * A gateway's HTTP status as a code, for an error body that carried none (the web page's
 * fallback, `http_502`): the one family of codes that is not a fixed list.
 */
export type HttpStatusErrorCode = `http_${number}`;

/** Every code a GotongError may carry. */
export type GotongErrorCode =
  | CommonErrorCode
  | ChainErrorCode
  | ModelErrorCode
  | PaymentsErrorCode
  | PrivacyErrorCode
  | ProviderErrorCode
  | GatewayErrorCode
  | FundingErrorCode
  | AgentErrorCode
  | WebErrorCode
  | CliErrorCode
  | HttpStatusErrorCode;

/** Every fixed code, all domains together (a code belongs to exactly one domain; a test checks). */
export const gotongErrorCodes: readonly GotongErrorCode[] = [
  ...commonErrorCodes,
  ...chainErrorCodes,
  ...modelErrorCodes,
  ...paymentsErrorCodes,
  ...privacyErrorCodes,
  ...providerErrorCodes,
  ...gatewayErrorCodes,
  ...fundingErrorCodes,
  ...agentErrorCodes,
  ...webErrorCodes,
  ...cliErrorCodes,
];

const known = new Set<string>(gotongErrorCodes);

/** True when `value` is a code Gotong defines: for a code that arrived over the wire. */
export function isGotongErrorCode(value: unknown): value is GotongErrorCode {
  return typeof value === "string" && (known.has(value) || /^http_\d{3}$/.test(value));
}

/**
 * A code that arrived over the wire (an error body from a gateway or provider) as a
 * GotongErrorCode: itself when Gotong defines it, `fallback` otherwise (an upstream server's own
 * code, or one from a newer version).
 *
 * @example const code = gotongErrorCodeOf(body.error?.code, "chat_failed");
 */
export function gotongErrorCodeOf(value: unknown, fallback: GotongErrorCode): GotongErrorCode {
  return isGotongErrorCode(value) ? value : fallback;
}
