import { describe, expect, it } from "vitest";
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { encodeX402Header, parseExactEvmPayload, parsePaymentPayloadHeader, parsePaymentRequiredHeader } from "./x402Codec.ts";
import { chainIdOfNetwork, eip155Network } from "./caip2.ts";
import type { PaymentPayload, PaymentRequired } from "./x402Types.ts";

const requirements = {
  scheme: "exact",
  network: "eip155:31337",
  amount: "1234567",
  asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  payTo: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
  maxTimeoutSeconds: 120,
  extra: { name: "Gotong Test USD", version: "2" },
};
const payload: PaymentPayload = {
  x402Version: 2,
  resource: { url: "http://127.0.0.1:8601/v1/chat/completions", description: "Chat — ünïcode", mimeType: "application/json" },
  accepted: requirements,
  payload: {
    signature: `0x${"ab".repeat(65)}`,
    authorization: {
      from: "0x857b06519E91e3A54538791bDbb0E22373e36b66",
      to: requirements.payTo,
      value: "1234567",
      validAfter: "0",
      validBefore: "1740672154",
      nonce: `0x${"f3".repeat(32)}`,
    },
  },
};

describe("x402 header codecs", () => {
  it("encodes PaymentRequired and SettlementResponse as @x402/core decodes them", () => {
    const required: PaymentRequired = { x402Version: 2, error: "Payment required", resource: payload.resource!, accepts: [requirements] };
    expect(decodePaymentRequiredHeader(encodeX402Header(required))).toEqual(required);
    const settled = { success: true, transaction: `0x${"12".repeat(32)}`, network: "eip155:31337", payer: "0x857b06519E91e3A54538791bDbb0E22373e36b66", amount: "1234567" };
    expect(decodePaymentResponseHeader(encodeX402Header(settled))).toEqual(settled);
  });

  it("parses a PAYMENT-SIGNATURE header @x402/core encoded", () => {
    const header = encodePaymentSignatureHeader(payload as never);
    const parsed = parsePaymentPayloadHeader(header);
    expect(parsed).toEqual({ ok: true, value: payload });
    const exact = parseExactEvmPayload(payload.payload);
    expect(exact.ok && exact.value.authorization.value).toBe("1234567");
  });

  it("refuses a header that is not base64 JSON, naming why", () => {
    expect(parsePaymentPayloadHeader("not base64!")).toEqual({ ok: false, problem: "the header is not base64-encoded JSON" });
    expect(parsePaymentPayloadHeader(Buffer.from("[1,2]").toString("base64"))).toEqual({ ok: false, problem: "the header is not base64-encoded JSON" });
  });

  it("refuses a payload whose fields have the wrong shape, naming the field", () => {
    const bad = { ...payload, accepted: { ...requirements, amount: "1.5" } };
    const parsed = parsePaymentPayloadHeader(encodeX402Header(bad));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problem).toMatch(/^accepted\.amount: /);
    const noNonce = parseExactEvmPayload({ signature: "0x00", authorization: { ...(payload.payload.authorization as object), nonce: "0x01" } });
    expect(!noNonce.ok && noNonce.problem).toMatch(/^authorization\.nonce: /);
  });

  it("names EVM networks by CAIP-2", () => {
    expect(eip155Network(8453)).toBe("eip155:8453");
    expect(chainIdOfNetwork("eip155:84532")).toBe(84532);
    expect(chainIdOfNetwork("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")).toBeUndefined();
    expect(chainIdOfNetwork("eip155:01")).toBeUndefined();
  });

  it("parses a PAYMENT-REQUIRED header as a relaying gateway reads it", () => {
    const required: PaymentRequired = { x402Version: 2, error: "PAYMENT-SIGNATURE header is required", resource: payload.resource!, accepts: [requirements] };
    expect(parsePaymentRequiredHeader(encodeX402Header(required))).toEqual({ ok: true, value: required });
    const noAccepts = parsePaymentRequiredHeader(Buffer.from(JSON.stringify({ x402Version: 2, resource: payload.resource })).toString("base64"));
    expect(!noAccepts.ok && noAccepts.problem).toMatch(/^accepts: /);
    expect(parsePaymentRequiredHeader("not base64!")).toEqual({ ok: false, problem: "the header is not base64-encoded JSON" });
  });
});
