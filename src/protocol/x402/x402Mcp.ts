/**
 * The x402 v2 MCP transport (coinbase/x402 `specs/transports-v2/mcp.md`): where its objects travel
 * in MCP messages, with the specification's field names.
 */
import type { PaymentRequired, SettlementResponse } from "./x402Types.ts";

/** The `_meta` keys of the MCP transport. */
export const X402_MCP_META = {
  /** Client → server, in `tools/call`'s `params._meta`: a `PaymentPayload`. */
  payment: "x402/payment",
  /** Server → client, in the tool result's `_meta`: a `SettlementResponse`. */
  paymentResponse: "x402/payment-response",
} as const;

/** A tool result as the transport shapes it (a subset of MCP's `CallToolResult`). */
export type X402ToolResult = {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
};

/**
 * The result that asks for payment, or refuses one: `isError: true`, the `PaymentRequired` as
 * `structuredContent`, and the same JSON as `content[0].text`, as the specification requires. A
 * settlement that failed also carries its `SettlementResponse` (`success: false`) in `_meta`.
 */
export function paymentRequiredResult(required: PaymentRequired, failedSettlement?: SettlementResponse, meta: Record<string, unknown> = {}): X402ToolResult {
  const structured = JSON.parse(JSON.stringify(required)) as Record<string, unknown>;
  const extra = failedSettlement ? { ...meta, [X402_MCP_META.paymentResponse]: failedSettlement } : meta;
  return {
    isError: true,
    structuredContent: structured,
    content: [{ type: "text", text: JSON.stringify(structured) }],
    ...(Object.keys(extra).length > 0 ? { _meta: extra } : {}),
  };
}
