import { describe, expect, it } from "vitest";
import { encodeX402Header } from "../../protocol/x402/x402Codec.ts";
import type { PaymentRequired, SettlementResponse } from "../../protocol/x402/x402Types.ts";
import { chatToolResult, MCP_PAYMENT_REQUIRED_ERROR } from "./chatToolResult.ts";
import type { SelfAnswer } from "./postToSelf.ts";

const required: PaymentRequired = {
  x402Version: 2,
  resource: { url: "http://127.0.0.1:8601/v1/chat/completions", mimeType: "application/json" },
  accepts: [{ scheme: "exact", network: "eip155:31337", amount: "1234", asset: `0x${"11".repeat(20)}`, payTo: `0x${"22".repeat(20)}`, maxTimeoutSeconds: 120, extra: { name: "Gotong Test USD", version: "2" } }],
};
const answer = (status: number, body: unknown, headers: Record<string, string> = {}): SelfAnswer => ({
  status,
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  body: Buffer.from(JSON.stringify(body)),
});
const refusal = (code: string, message: string) => ({ error: { code, message, type: "payment_required" } });

describe("chatToolResult: the provider's HTTP answer in the x402 MCP transport's terms", () => {
  it("a completion: its text, the completion as structuredContent, the SettlementResponse in _meta", () => {
    const settled: SettlementResponse = { success: true, transaction: `0x${"ab".repeat(32)}`, network: "eip155:31337", payer: `0x${"33".repeat(20)}`, amount: "1234" };
    const completion = { object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "Once upon" } }] };
    expect(chatToolResult(answer(200, completion, { "PAYMENT-RESPONSE": encodeX402Header(settled) }), true)).toEqual({
      content: [{ type: "text", text: "Once upon" }],
      structuredContent: completion,
      _meta: { "x402/payment-response": settled },
    });
  });

  it("an unpaid call: isError, the PaymentRequired in structuredContent and as content[0].text, naming _meta", () => {
    const result = chatToolResult(answer(402, refusal("voucher_missing", "no payment"), { "PAYMENT-REQUIRED": encodeX402Header({ ...required, error: "PAYMENT-SIGNATURE header is required" }) }), false);
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toEqual({ ...required, error: MCP_PAYMENT_REQUIRED_ERROR });
    expect(result.content).toEqual([{ type: "text", text: JSON.stringify(result.structuredContent) }]);
  });

  it("a refused payment keeps the reason as error; a failed settlement also says so in _meta", () => {
    const refused = chatToolResult(answer(402, refusal("x402_payment_refused", "bad"), { "PAYMENT-REQUIRED": encodeX402Header({ ...required, error: "invalid_exact_evm_payload_signature" }) }), true);
    expect(refused.structuredContent?.error).toBe("invalid_exact_evm_payload_signature");
    expect(refused._meta?.["x402/payment-response"]).toBeUndefined();
    const failed: SettlementResponse = { success: false, errorReason: "invalid_transaction_state", transaction: "", network: "eip155:31337" };
    const result = chatToolResult(
      answer(402, refusal("x402_settlement_failed", "reverted"), { "PAYMENT-REQUIRED": encodeX402Header({ ...required, error: "invalid_transaction_state" }), "PAYMENT-RESPONSE": encodeX402Header(failed) }),
      true,
    );
    expect(result).toMatchObject({ isError: true, structuredContent: { error: "invalid_transaction_state", accepts: required.accepts }, _meta: { "x402/payment-response": failed, "gotong/error": { code: "x402_settlement_failed" } } });
    expect(result.content[0]!.text).toBe(JSON.stringify(result.structuredContent));
  });

  it("any other failure: a tool error with Gotong's error, no PaymentRequired", () => {
    const result = chatToolResult(answer(404, { error: { code: "model_not_found", message: "no such model", hint: "It serves: a." } }), true);
    expect(result).toEqual({ isError: true, content: [{ type: "text", text: "no such model\nHint: It serves: a." }], _meta: { "gotong/error": { code: "model_not_found", message: "no such model", hint: "It serves: a." } } });
    expect(chatToolResult({ status: 502, headers: {}, body: Buffer.from("<html>") }, true)).toMatchObject({ isError: true, _meta: { "gotong/error": { code: "internal_error" } } });
  });
});
