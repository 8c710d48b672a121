/**
 * Codecs of the x402 v2 HTTP headers: base64 of the JSON text (UTF-8), as the HTTP transport
 * specifies and `@x402/core` encodes, and a strict parse of a client's `PaymentPayload`.
 */
import { z } from "zod";
import type { ExactEvmPayload, PaymentPayload, PaymentRequired, PaymentRequirements, SettlementResponse } from "./x402Types.ts";

/** Encodes an x402 object for a header: base64 of its JSON. */
export function encodeX402Header(value: PaymentRequired | PaymentPayload | SettlementResponse): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}

/** Decodes a base64 JSON header; undefined when it is not base64 of a JSON object. */
export function decodeX402Header(header: string): unknown {
  // Buffer's decoder skips what is not base64; a header that is not base64 is refused outright.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(header.trim())) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(header.trim(), "base64").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const decimal = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, "a decimal integer string");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "a 20-byte hex address");

const resourceInfo = z.object({ url: z.string(), description: z.string().optional(), mimeType: z.string().optional() });

const paymentRequirements = z.object({
  scheme: z.string(),
  network: z.string(),
  amount: decimal,
  asset: z.string(),
  payTo: z.string(),
  maxTimeoutSeconds: z.number().int().nonnegative(),
  extra: z.record(z.string(), z.unknown()).optional(),
});

const paymentPayload = z.object({
  x402Version: z.number().int(),
  resource: resourceInfo.optional(),
  accepted: paymentRequirements,
  payload: z.record(z.string(), z.unknown()),
  extensions: z.record(z.string(), z.unknown()).optional(),
});

const exactEvmPayload = z.object({
  signature: z.string().regex(/^0x[0-9a-fA-F]+$/, "a hex signature"),
  authorization: z.object({
    from: address,
    to: address,
    value: decimal,
    validAfter: decimal,
    validBefore: decimal,
    nonce: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 32-byte hex nonce"),
  }),
});

/** The outcome of parsing: the value, or what is wrong with it (for `invalid_payload`). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const problemOf = (error: z.ZodError) => error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");

/** Parses a `PAYMENT-SIGNATURE` header into a `PaymentPayload` (any version; the caller checks it). */
export function parsePaymentPayloadHeader(header: string): Parsed<PaymentPayload> {
  const json = decodeX402Header(header);
  if (json === undefined) return { ok: false, problem: "the header is not base64-encoded JSON" };
  const result = paymentPayload.safeParse(json);
  return result.success ? { ok: true, value: result.data } : { ok: false, problem: problemOf(result.error) };
}

/** Parses the `payload` of an `exact` EVM payment by EIP-3009 (`signature` and `authorization`). */
export function parseExactEvmPayload(payload: Record<string, unknown>): Parsed<ExactEvmPayload> {
  const result = exactEvmPayload.safeParse(payload);
  return result.success ? { ok: true, value: result.data as ExactEvmPayload } : { ok: false, problem: problemOf(result.error) };
}

const facilitatorRequest = z.object({ x402Version: z.number().int().optional(), paymentPayload, paymentRequirements });

/**
 * A facilitator's `POST /verify` or `POST /settle` body (x402 v2 §7.1). The top-level
 * `x402Version` is optional: `@x402/core` sends it and the specification has shown it since March
 * 2026, but its earlier text (and clients written from it) had only `paymentPayload.x402Version`.
 */
export type FacilitatorRequest = { x402Version?: number; paymentPayload: PaymentPayload; paymentRequirements: PaymentRequirements };

/** Parses a facilitator request body (already JSON). */
export function parseFacilitatorRequest(value: unknown): Parsed<FacilitatorRequest> {
  const result = facilitatorRequest.safeParse(value);
  return result.success ? { ok: true, value: result.data } : { ok: false, problem: problemOf(result.error) };
}

const paymentRequired = z.object({
  x402Version: z.number().int(),
  error: z.string().optional(),
  resource: resourceInfo,
  accepts: z.array(paymentRequirements),
  extensions: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Parses a `PAYMENT-REQUIRED` header (a server's 402) into a `PaymentRequired`: what a party that
 * relays another server's requirements (a Gotong gateway in front of a provider) reads.
 */
export function parsePaymentRequiredHeader(header: string): Parsed<PaymentRequired> {
  const json = decodeX402Header(header);
  if (json === undefined) return { ok: false, problem: "the header is not base64-encoded JSON" };
  const result = paymentRequired.safeParse(json);
  return result.success ? { ok: true, value: result.data } : { ok: false, problem: problemOf(result.error) };
}
