import { createHash } from "node:crypto";
import { type Address, type Hex, getAddress, hashTypedData, isAddress, recoverTypedDataAddress } from "viem";
import { receiptFromJson, receiptToJson, receiptTypes, type ReceiptJson, type SignedReceipt } from "../protocol/receipt.ts";
import { paymentDomain, type VoucherDomain } from "../protocol/voucher.ts";
import { GotongError } from "../common/errors.ts";

/**
 * What proves what a provider served: its own signed receipt, and the plaintext request body and
 * answer text that hash to the receipt's `requestHash` and `responseHash`. A gateway builds it for any
 * request it sent itself; anyone can check it (checkEvidence) and a validator re-runs it (verifyEvidence).
 */
export type Evidence = {
  receipt: SignedReceipt;
  /** The address the receipt claims to be signed by (the provider's registered key). */
  provider: Address;
  /** The exact request body bytes the provider parsed (after unsealing). */
  request: Uint8Array;
  /** The answer text, the generated pieces in the order they were produced (single choice). */
  response: string;
};

/** Evidence as plain JSON: the receipt's amounts as decimal strings, the request as base64. */
export type EvidenceJson = { receipt: ReceiptJson; provider: string; request: string; response: string };

/** Why evidence is refused: the receipt is not the provider's, or the plaintext does not hash to it. */
export type EvidenceCheck = { ok: true } | { ok: false; reason: "signature" | "request_hash" | "response_hash" };

/** Evidence as JSON, for HTTP bodies (`POST /gotong/validate`) and storage. */
export function encodeEvidence(evidence: Evidence): EvidenceJson {
  return {
    receipt: receiptToJson(evidence.receipt),
    provider: evidence.provider,
    request: Buffer.from(evidence.request).toString("base64"),
    response: evidence.response,
  };
}

/**
 * Parses evidence JSON; throws an `invalid_parameter` GotongError naming the field that is missing or
 * malformed. It does not check signatures or hashes: that is checkEvidence's job.
 */
export function decodeEvidence(json: unknown): Evidence {
  const fail = (field: string, why: string) =>
    new GotongError(`Evidence ${field} ${why}`, { code: "invalid_parameter", param: field, status: 400, hint: "Send evidence as encodeEvidence writes it: { receipt, provider, request (base64), response }." });
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw fail("body", "must be a JSON object");
  const value = json as Record<string, unknown>;
  const receipt = receiptFromJson(value.receipt);
  if (!receipt) throw fail("receipt", "is missing or malformed (every field of a signed receipt, amounts as decimal strings)");
  if (typeof value.provider !== "string" || !isAddress(value.provider, { strict: false })) throw fail("provider", "must be a 0x-prefixed 20-byte address");
  if (typeof value.request !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value.request) || value.request.length % 4 !== 0) throw fail("request", "must be the request body as base64");
  if (typeof value.response !== "string") throw fail("response", "must be the answer text as a string");
  return { receipt, provider: getAddress(value.provider), request: new Uint8Array(Buffer.from(value.request, "base64")), response: value.response };
}

/** The receipt's EIP-712 digest: the case id ServingVerification uses, so one receipt makes one case. */
export function hashEvidenceReceipt(evidence: Evidence, domain: VoucherDomain): Hex {
  return hashTypedData({ domain: paymentDomain(domain), types: receiptTypes, primaryType: "Receipt", message: receiptMessage(evidence.receipt) });
}

/**
 * Checks that evidence is what it claims: the receipt is signed by `evidence.provider` in the
 * PaymentChannels EIP-712 domain, and the request bytes and response text hash (sha256) to the
 * receipt's `requestHash` and `responseHash`. The same checks as ServingVerification.report.
 *
 * @example const check = await checkEvidence(evidence, { chainId: 31337, verifyingContract: channels });
 */
export async function checkEvidence(evidence: Evidence, domain: VoucherDomain): Promise<EvidenceCheck> {
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({
      domain: paymentDomain(domain),
      types: receiptTypes,
      primaryType: "Receipt",
      message: receiptMessage(evidence.receipt),
      signature: evidence.receipt.signature,
    });
  } catch {
    return { ok: false, reason: "signature" };
  }
  if (signer.toLowerCase() !== evidence.provider.toLowerCase()) return { ok: false, reason: "signature" };
  if (sha256Of(evidence.request) !== evidence.receipt.requestHash.toLowerCase()) return { ok: false, reason: "request_hash" };
  if (sha256Of(evidence.response) !== evidence.receipt.responseHash.toLowerCase()) return { ok: false, reason: "response_hash" };
  return { ok: true };
}

/** `0x`-prefixed lowercase sha256 of bytes or of a string's UTF-8, as receipts carry it. */
export function sha256Of(data: Uint8Array | string): Hex {
  return `0x${createHash("sha256").update(data).digest("hex")}`;
}

function receiptMessage(r: SignedReceipt) {
  return {
    requestId: r.requestId,
    channelId: r.channelId,
    weightsHash: r.weightsHash,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    cost: r.cost,
    cumulativeOwed: r.cumulativeOwed,
    requestHash: r.requestHash,
    responseHash: r.responseHash,
  };
}
