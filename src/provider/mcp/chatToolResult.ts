import { decodeX402Header } from "../../protocol/x402/x402Codec.ts";
import { paymentRequiredResult, X402_MCP_META, type X402ToolResult } from "../../protocol/x402/x402Mcp.ts";
import { X402_HEADERS, type PaymentRequired, type SettlementResponse } from "../../protocol/x402/x402Types.ts";
import type { SelfAnswer } from "./postToSelf.ts";

/** What the `PaymentRequired` of an unpaid tool call says, in place of the HTTP transport's header name. */
export const MCP_PAYMENT_REQUIRED_ERROR = `Payment required: put a PaymentPayload in params._meta["${X402_MCP_META.payment}"] of tools/call`;

type GotongErrorBody = { error?: { code?: string; message?: string; hint?: string } };
type Completion = { choices?: { message?: { content?: string | null; tool_calls?: unknown } }[] };

const header = (answer: SelfAnswer, name: string) => {
  const value = answer.headers[name.toLowerCase()];
  return typeof value === "string" ? value : undefined;
};

const jsonOf = (body: Buffer): unknown => {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
};

/**
 * The MCP tool result of the provider's answer to a chat request the tool made, by the x402 MCP
 * transport: the completion, with its `SettlementResponse` in `_meta["x402/payment-response"]`;
 * a request that was not paid, or whose payment was refused, as the `PaymentRequired` its 402
 * carried (the refusal's reason as `error`); any other failure as a tool error with Gotong's error.
 */
export function chatToolResult(answer: SelfAnswer, paid: boolean): X402ToolResult {
  const body = jsonOf(answer.body);
  if (answer.status === 200) {
    const completion = body as Completion & Record<string, unknown>;
    const settlement = decodeX402Header(header(answer, X402_HEADERS.paymentResponse) ?? "") as SettlementResponse | undefined;
    const texts = (completion.choices ?? []).map((c) => c.message?.content ?? JSON.stringify(c.message?.tool_calls ?? null));
    return {
      content: texts.map((text) => ({ type: "text" as const, text })),
      structuredContent: completion,
      ...(settlement ? { _meta: { [X402_MCP_META.paymentResponse]: settlement } } : {}),
    };
  }
  const error = (body as GotongErrorBody | undefined)?.error;
  const gotongError = { code: error?.code ?? "internal_error", message: error?.message ?? `The provider answered ${answer.status}`, ...(error?.hint ? { hint: error.hint } : {}) };
  const required = decodeX402Header(header(answer, X402_HEADERS.paymentRequired) ?? "") as PaymentRequired | undefined;
  if (required && Array.isArray(required.accepts)) {
    const failed = decodeX402Header(header(answer, X402_HEADERS.paymentResponse) ?? "") as SettlementResponse | undefined;
    return paymentRequiredResult(paid ? required : { ...required, error: MCP_PAYMENT_REQUIRED_ERROR }, failed, { "gotong/error": gotongError });
  }
  return {
    isError: true,
    content: [{ type: "text", text: `${gotongError.message}${gotongError.hint ? `\nHint: ${gotongError.hint}` : ""}` }],
    _meta: { "gotong/error": gotongError },
  };
}
