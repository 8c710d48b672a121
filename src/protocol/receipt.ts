import type { Hex, LocalAccount } from "viem";
import { paymentDomain, type VoucherDomain } from "./voucher.ts";

/**
 * What a provider signs after each request: which weights served it, the token counts, the cost,
 * the new total owed on the channel, and hashes of the request and response (never their text).
 */
export type Receipt = {
  requestId: Hex;
  channelId: Hex;
  weightsHash: Hex;
  inputTokens: bigint;
  outputTokens: bigint;
  cost: bigint;
  cumulativeOwed: bigint;
  requestHash: Hex;
  responseHash: Hex;
};
export type SignedReceipt = Receipt & { signature: Hex };

/**
 * The EIP-712 definition of a receipt, the only copy in TypeScript; a test asserts its type hash
 * equals `PaymentChannels.RECEIPT_TYPEHASH`, published there because receipts share its domain.
 */
export const receiptTypes = {
  Receipt: [
    { name: "requestId", type: "bytes32" },
    { name: "channelId", type: "bytes32" },
    { name: "weightsHash", type: "bytes32" },
    { name: "inputTokens", type: "uint64" },
    { name: "outputTokens", type: "uint64" },
    { name: "cost", type: "uint256" },
    { name: "cumulativeOwed", type: "uint256" },
    { name: "requestHash", type: "bytes32" },
    { name: "responseHash", type: "bytes32" },
  ],
} as const;

// Receipts share the channel contract's domain, so a receipt is bound to one chain and deployment.

/** Signs a receipt with the provider's key. */
export async function signReceipt(account: LocalAccount, domain: VoucherDomain, receipt: Receipt): Promise<SignedReceipt> {
  const signature = await account.signTypedData({ domain: paymentDomain(domain), types: receiptTypes, primaryType: "Receipt", message: receipt });
  return { ...receipt, signature };
}

/** Receipt as plain JSON (amounts as decimal strings), for headers, SSE events and storage. */
export type ReceiptJson = { [K in keyof SignedReceipt]: string };

export function receiptToJson(receipt: SignedReceipt): ReceiptJson {
  return Object.fromEntries(Object.entries(receipt).map(([k, v]) => [k, String(v)])) as ReceiptJson;
}

/** Parses a receipt from JSON; returns undefined when any field is missing or malformed. */
export function receiptFromJson(json: unknown): SignedReceipt | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const r = json as Record<string, unknown>;
  const hex32 = (v: unknown) => typeof v === "string" && /^0x[0-9a-fA-F]{64}$/.test(v);
  const uint = (v: unknown) => typeof v === "string" && /^\d{1,78}$/.test(v);
  for (const key of ["requestId", "channelId", "weightsHash", "requestHash", "responseHash"]) if (!hex32(r[key])) return undefined;
  for (const key of ["inputTokens", "outputTokens", "cost", "cumulativeOwed"]) if (!uint(r[key])) return undefined;
  if (typeof r.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(r.signature)) return undefined;
  return {
    requestId: r.requestId as Hex,
    channelId: r.channelId as Hex,
    weightsHash: r.weightsHash as Hex,
    inputTokens: BigInt(r.inputTokens as string),
    outputTokens: BigInt(r.outputTokens as string),
    cost: BigInt(r.cost as string),
    cumulativeOwed: BigInt(r.cumulativeOwed as string),
    requestHash: r.requestHash as Hex,
    responseHash: r.responseHash as Hex,
    signature: r.signature as Hex,
  };
}

/** Encodes a receipt for the `x-gotong-receipt` response header (base64url JSON). */
export function encodeReceiptHeader(receipt: SignedReceipt): string {
  return Buffer.from(JSON.stringify(receiptToJson(receipt))).toString("base64url");
}

/** Decodes an `x-gotong-receipt` header; undefined when malformed. */
export function decodeReceiptHeader(header: string): SignedReceipt | undefined {
  try {
    return receiptFromJson(JSON.parse(Buffer.from(header, "base64url").toString("utf8")));
  } catch {
    return undefined;
  }
}
