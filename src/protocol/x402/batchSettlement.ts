/**
 * The x402 `batch-settlement` scheme's EVM binding as Gotong speaks it: the canonical contract
 * addresses, its EIP-712 domain and types, the payload shapes (`deposit`, `voucher`), the
 * requirement and response `extra` fields and the error reasons, with the names and values of the
 * published `@x402/evm` 2.27 binding (its `batch-settlement/{client,server,facilitator}`; checked
 * against that package in test/e2e/x402BatchSettlement.test.ts).
 */
import { encodeAbiParameters, getAddress, hashTypedData, keccak256, type Address, type Hex } from "viem";
import { z } from "zod";
import type { Parsed } from "./x402Codec.ts";

/** The scheme's name in `PaymentRequirements.scheme`. */
export const BATCH_SETTLEMENT_SCHEME = "batch-settlement";

/** Where the batch-settlement contract lives on every chain (its EIP-712 `verifyingContract`). */
export const BATCH_SETTLEMENT_ADDRESS: Address = "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003";

/** Where the ERC-3009 deposit collector lives on every chain (the `to` of a deposit's `receiveWithAuthorization`). */
export const ERC3009_DEPOSIT_COLLECTOR_ADDRESS: Address = "0x4020806089470a89826cB9fB1f4059150b550004";

/** Shortest and longest withdraw delay a channel may have, in seconds. */
export const MIN_WITHDRAW_DELAY = 900;
export const MAX_WITHDRAW_DELAY = 2_592_000;

/** The EIP-712 domain of channel ids, vouchers, claim batches and refunds on `chainId`. */
export function batchSettlementDomain(chainId: number) {
  return { name: "x402 Batch Settlement", version: "1", chainId, verifyingContract: BATCH_SETTLEMENT_ADDRESS } as const;
}

export const CHANNEL_CONFIG_TYPES = {
  ChannelConfig: [
    { name: "payer", type: "address" },
    { name: "payerAuthorizer", type: "address" },
    { name: "receiver", type: "address" },
    { name: "receiverAuthorizer", type: "address" },
    { name: "token", type: "address" },
    { name: "withdrawDelay", type: "uint40" },
    { name: "salt", type: "bytes32" },
  ],
} as const;

export const VOUCHER_TYPES = {
  Voucher: [
    { name: "channelId", type: "bytes32" },
    { name: "maxClaimableAmount", type: "uint128" },
  ],
} as const;

export const CLAIM_BATCH_TYPES = {
  ClaimBatch: [{ name: "claims", type: "ClaimEntry[]" }],
  ClaimEntry: [
    { name: "channelId", type: "bytes32" },
    { name: "maxClaimableAmount", type: "uint128" },
    { name: "totalClaimed", type: "uint128" },
  ],
} as const;

export const RECEIVE_WITH_AUTHORIZATION_TYPES = {
  ReceiveWithAuthorization: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "validAfter", type: "uint256" },
    { name: "validBefore", type: "uint256" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

/** A channel's immutable terms; its id is their EIP-712 hash. */
export type ChannelConfig = {
  payer: Address;
  payerAuthorizer: Address;
  receiver: Address;
  receiverAuthorizer: Address;
  token: Address;
  withdrawDelay: number;
  salt: Hex;
};

/** A payer's signed cumulative voucher. */
export type BatchVoucher = { channelId: Hex; maxClaimableAmount: string; signature: Hex };

/** `payload` of a first (or top-up) payment: an ERC-3009 deposit and the voucher it backs. */
export type BatchDepositPayload = {
  type: "deposit";
  channelConfig: ChannelConfig;
  voucher: BatchVoucher;
  deposit: { amount: string; authorization: { erc3009Authorization: { validAfter: string; validBefore: string; salt: Hex; signature: Hex } } };
};

/** `payload` of a payment on a funded channel: a voucher only. */
export type BatchVoucherPayload = { type: "voucher"; channelConfig: ChannelConfig; voucher: BatchVoucher };

export type BatchPayload = BatchDepositPayload | BatchVoucherPayload;

/** The channel's id: the EIP-712 hash of its config under the batch-settlement domain of `chainId`. */
export function computeChannelId(config: ChannelConfig, chainId: number): Hex {
  return hashTypedData({ domain: batchSettlementDomain(chainId), types: CHANNEL_CONFIG_TYPES, primaryType: "ChannelConfig", message: config });
}

/** The ERC-3009 nonce of a deposit: binds the authorization to its channel. */
export function depositNonce(channelId: Hex, salt: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [channelId, BigInt(salt)]));
}

/** The collector's `collectorData`: `abi.encode(validAfter, validBefore, salt, signature)`. */
export function erc3009CollectorData(auth: { validAfter: string; validBefore: string; salt: Hex; signature: Hex }): Hex {
  return encodeAbiParameters(
    [{ type: "uint256" }, { type: "uint256" }, { type: "uint256" }, { type: "bytes" }],
    [BigInt(auth.validAfter), BigInt(auth.validBefore), BigInt(auth.salt), auth.signature],
  );
}

/** The contract's `ChannelConfig` tuple. */
export function toContractConfig(config: ChannelConfig) {
  return {
    payer: getAddress(config.payer),
    payerAuthorizer: getAddress(config.payerAuthorizer),
    receiver: getAddress(config.receiver),
    receiverAuthorizer: getAddress(config.receiverAuthorizer),
    token: getAddress(config.token),
    withdrawDelay: config.withdrawDelay,
    salt: config.salt,
  };
}

/**
 * The scheme's error reasons (`PaymentRequired.error`), the published binding's names. A voucher
 * whose cumulative base is not the server's is `cumulativeAmountMismatch`, answered with the
 * corrective 402 (`extra.channelState.chargedCumulativeAmount` and `extra.voucherState`).
 */
export const BATCH_ERROR_REASONS = {
  channelNotFound: "invalid_batch_settlement_evm_channel_not_found",
  tokenMismatch: "invalid_batch_settlement_evm_token_mismatch",
  voucherSignature: "invalid_batch_settlement_evm_voucher_signature",
  cumulativeExceedsBalance: "invalid_batch_settlement_evm_cumulative_exceeds_balance",
  cumulativeBelowClaimed: "invalid_batch_settlement_evm_cumulative_below_claimed",
  insufficientBalance: "invalid_batch_settlement_evm_insufficient_balance",
  depositTransactionFailed: "invalid_batch_settlement_evm_deposit_transaction_failed",
  networkMismatch: "invalid_batch_settlement_evm_network_mismatch",
  validBefore: "invalid_batch_settlement_evm_payload_authorization_valid_before",
  validAfter: "invalid_batch_settlement_evm_payload_authorization_valid_after",
  receiveAuthorizationSignature: "invalid_batch_settlement_evm_receive_authorization_signature",
  erc3009AuthorizationRequired: "invalid_batch_settlement_evm_erc3009_authorization_required",
  payloadType: "invalid_batch_settlement_evm_payload_type",
  withdrawDelayOutOfRange: "invalid_batch_settlement_evm_withdraw_delay_out_of_range",
  channelIdMismatch: "invalid_batch_settlement_evm_channel_id_mismatch",
  receiverMismatch: "invalid_batch_settlement_evm_receiver_mismatch",
  receiverAuthorizerMismatch: "invalid_batch_settlement_evm_receiver_authorizer_mismatch",
  withdrawDelayMismatch: "invalid_batch_settlement_evm_withdraw_delay_mismatch",
  depositSimulationFailed: "invalid_batch_settlement_evm_deposit_simulation_failed",
  cumulativeAmountMismatch: "invalid_batch_settlement_evm_cumulative_amount_mismatch",
  channelBusy: "invalid_batch_settlement_evm_channel_busy",
} as const;

export type BatchErrorReason = (typeof BATCH_ERROR_REASONS)[keyof typeof BATCH_ERROR_REASONS];

const decimal = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,38})$/, "a decimal integer string below 2^128")
  .refine((v) => !/^[0-9]+$/.test(v) || BigInt(v) < 2n ** 128n, "a decimal integer string below 2^128");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "a 20-byte hex address");
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 32-byte hex value");
const hex = z.string().regex(/^0x([0-9a-fA-F]{2})+$/, "hex bytes");

const channelConfig = z.object({
  payer: address,
  payerAuthorizer: address,
  receiver: address,
  receiverAuthorizer: address,
  token: address,
  withdrawDelay: z.number().int().nonnegative().max(2 ** 40 - 1),
  salt: bytes32,
});
const voucher = z.object({ channelId: bytes32, maxClaimableAmount: decimal, signature: hex });
const voucherPayload = z.object({ type: z.literal("voucher"), channelConfig, voucher });
const depositPayload = z.object({
  type: z.literal("deposit"),
  channelConfig,
  voucher,
  deposit: z.object({
    amount: decimal,
    authorization: z.object({ erc3009Authorization: z.object({ validAfter: decimal, validBefore: decimal, salt: bytes32, signature: hex }) }),
  }),
});

/** Parses a `batch-settlement` payload: `deposit` (by ERC-3009) or `voucher`; anything else is refused. */
export function parseBatchPayload(payload: Record<string, unknown>): Parsed<BatchPayload> | { ok: false; problem: string; wrongType: true } {
  const type = payload.type;
  if (type !== "deposit" && type !== "voucher") return { ok: false, problem: `payload.type ${JSON.stringify(type)} is not "deposit" or "voucher"`, wrongType: true };
  if (type === "deposit" && !(payload.deposit as { authorization?: { erc3009Authorization?: unknown } } | undefined)?.authorization?.erc3009Authorization) {
    return { ok: false, problem: "a deposit needs deposit.authorization.erc3009Authorization (this server takes no Permit2)", wrongType: true };
  }
  const result = (type === "deposit" ? depositPayload : voucherPayload).safeParse(payload);
  if (result.success) return { ok: true, value: result.data as BatchPayload };
  return { ok: false, problem: result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") };
}
