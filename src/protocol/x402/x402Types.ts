/**
 * The x402 v2 types Gotong speaks, with the field names of the specification
 * (coinbase/x402 `specs/x402-specification-v2.md` §5, `specs/transports-v2/http.md`,
 * `specs/schemes/exact/scheme_exact_evm.md`). Amounts and times are decimal strings on the wire,
 * as the specification has them.
 */
import type { Address, Hex } from "viem";

/** The protocol version this module speaks (`x402Version`). */
export const X402_VERSION = 2;

/** The HTTP headers of the x402 v2 HTTP transport, each carrying base64-encoded JSON. */
export const X402_HEADERS = {
  /** Server → client, with a 402: a `PaymentRequired`. */
  paymentRequired: "PAYMENT-REQUIRED",
  /** Client → server: a `PaymentPayload`. */
  paymentSignature: "PAYMENT-SIGNATURE",
  /** Server → client: a `SettlementResponse`. */
  paymentResponse: "PAYMENT-RESPONSE",
} as const;

/** `ResourceInfo`: the resource a payment is for. */
export type ResourceInfo = { url: string; description?: string; mimeType?: string };

/** `PaymentRequirements`: one way the server accepts to be paid. */
export type PaymentRequirements = {
  scheme: string;
  /** CAIP-2, e.g. `eip155:8453`. */
  network: string;
  /** Atomic token units, a decimal string. */
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra?: Record<string, unknown>;
};

/** `PaymentRequired`: what a 402 carries in `PAYMENT-REQUIRED`. */
export type PaymentRequired = {
  x402Version: number;
  error?: string;
  resource: ResourceInfo;
  accepts: PaymentRequirements[];
  extensions?: Record<string, unknown>;
};

/** The EIP-3009 `authorization` of an `exact` EVM payload (decimal strings, a 32-byte hex nonce). */
export type ExactEvmAuthorization = {
  from: Address;
  to: Address;
  value: string;
  validAfter: string;
  validBefore: string;
  nonce: Hex;
};

/** The `payload` of an `exact` EVM payment by EIP-3009. */
export type ExactEvmPayload = { signature: Hex; authorization: ExactEvmAuthorization };

/** `PaymentPayload`: what a client sends in `PAYMENT-SIGNATURE`. */
export type PaymentPayload = {
  x402Version: number;
  resource?: ResourceInfo;
  accepted: PaymentRequirements;
  payload: Record<string, unknown>;
  extensions?: Record<string, unknown>;
};

/** `SettlementResponse` (the specification's `SettleResponse`): what `PAYMENT-RESPONSE` carries. */
export type SettlementResponse = {
  success: boolean;
  errorReason?: string;
  payer?: string;
  /** The transaction hash; an empty string when settlement failed. */
  transaction: string;
  network: string;
  amount?: string;
  extensions?: Record<string, unknown>;
};

/** `VerifyResponse`: a facilitator's verdict on a payment. */
export type VerifyResponse = { isValid: boolean; invalidReason?: string; payer?: string };
