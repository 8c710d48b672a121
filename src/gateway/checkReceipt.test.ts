import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { isGotongError } from "../common/errors.ts";
import { createPaymentSigner } from "../payments/createPaymentSigner.ts";
import { createPaymentVerifier } from "../payments/createPaymentVerifier.ts";
import { computeCost } from "../payments/price.ts";
import { decodeReceiptHeader, receiptFromJson, type Receipt, type SignedReceipt } from "../protocol/receipt.ts";
import { checkReceipt, type ReceiptBounds } from "./checkReceipt.ts";
import type { Offer } from "./discoverOffers.ts";

const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000cc" as const };
const signerKey = generatePrivateKey();
const signer = createPaymentSigner(signerKey, domain);
const verifier = createPaymentVerifier(domain);
const price = { pricePerMillionInput: 1_000_000n, pricePerMillionOutput: 2_000_000n };
const offer = { provider: privateKeyToAccount(signerKey).address, weightsHash: `0x${"ab".repeat(32)}`, price, modelId: 1n } as unknown as Offer;
const id = () => `0x${randomBytes(32).toString("hex")}` as Hex;
const channelId = id();

/** A receipt signed by the offer's provider, at its price, for the given counts. */
function receiptFor(requestId: Hex, inputTokens: number, outputTokens: number) {
  const cost = computeCost(price, { inputTokens, outputTokens });
  return signer.signReceipt({
    requestId, channelId, weightsHash: offer.weightsHash, inputTokens: BigInt(inputTokens), outputTokens: BigInt(outputTokens),
    cost, cumulativeOwed: cost, requestHash: id(), responseHash: id(),
  });
}

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "accepted";
  } catch (error) {
    return isGotongError(error) ? error.code : String(error);
  }
};

describe("the gateway's own bounds on a receipt", () => {
  const bounds: ReceiptBounds = { maxOutputTokens: 16n, maxInputTokens: 100n, receivedOutputTokens: 40n };
  const check = (input: number, output: number, b = bounds, cut = false) => {
    const requestId = id();
    return codeOf(() => checkReceipt(verifier, offer, receiptFor(requestId, input, output), { requestId, channelId, bounds: b, cut }));
  };

  it("accepts an honest receipt at the bounds exactly", () => {
    expect(check(100, 16)).toBe("accepted");
  });

  it("refuses a signed receipt for a million input and a million output tokens, correctly priced", () => {
    expect(check(1_000_000, 1_000_000, { maxOutputTokens: 2_000_000n, maxInputTokens: 2_000_000n })).toBe("accepted"); // what the old check allowed
    expect(check(1_000_000, 16)).toBe("receipt_overcount");
    expect(check(100, 1_000_000)).toBe("receipt_overcount");
  });

  it("holds output to what arrived, with the in-flight allowance only for a cut stream", () => {
    const few = { maxOutputTokens: 100n, maxInputTokens: 100n, receivedOutputTokens: 10n };
    expect(check(10, 10, few)).toBe("accepted");
    expect(check(10, 11, few)).toBe("receipt_overcount");
    expect(check(10, 18, few, true)).toBe("accepted");
    expect(check(10, 19, few, true)).toBe("receipt_overcount");
  });

  it("refuses one input or output token above a bound, and a receipt for another request", () => {
    expect(check(101, 16)).toBe("receipt_overcount");
    expect(check(100, 17)).toBe("receipt_overcount");
    const requestId = id();
    expect(codeOf(() => checkReceipt(verifier, offer, receiptFor(requestId, 1, 1), { requestId: id(), channelId, bounds }))).toBe("receipt_wrong_request");
  });
});

describe("checkReceipt's refusals", () => {
  const bounds: ReceiptBounds = { maxOutputTokens: 16n, maxInputTokens: 100n, receivedOutputTokens: 16n };
  /** A receipt for `requestId` at the offer's price for 100 input and 16 output tokens (132 base units), with `change` applied before signing. */
  const signed = (requestId: Hex, change: Partial<Receipt> = {}, key = signerKey) =>
    createPaymentSigner(key, domain).signReceipt({
      requestId, channelId, weightsHash: offer.weightsHash, inputTokens: 100n, outputTokens: 16n,
      cost: 132n, cumulativeOwed: 1_132n, requestHash: id(), responseHash: id(), ...change,
    });
  const refused = (receipt: SignedReceipt | undefined, requestId: Hex) => {
    try {
      checkReceipt(verifier, offer, receipt, { requestId, channelId, bounds });
    } catch (error) {
      if (!isGotongError(error)) throw error;
      // Every refusal is the provider's fault, pays nothing, and says so.
      expect(error.status).toBe(502);
      expect(error.message).toContain(`Refused the receipt from provider ${offer.provider}`);
      expect(error.hint).toContain("Nothing was paid");
      return error;
    }
    throw new Error("expected the receipt to be refused");
  };

  it("accepts an honest receipt, and weights named in another letter case", () => {
    const requestId = id();
    const receipt = signed(requestId);
    expect(checkReceipt(verifier, offer, receipt, { requestId, channelId, bounds })).toBe(receipt);
    const upper = signed(requestId, { weightsHash: `0x${"AB".repeat(32)}` });
    expect(checkReceipt(verifier, offer, upper, { requestId, channelId, bounds }).cost).toBe(132n);
  });

  it("receipt_missing: no receipt, or one that did not parse", () => {
    expect(refused(undefined, id()).code).toBe("receipt_missing");
    expect(refused(decodeReceiptHeader("not-a-receipt"), id()).code).toBe("receipt_missing");
    expect(refused(receiptFromJson({ requestId: id() }), id()).code).toBe("receipt_missing");
  });

  it("receipt_wrong_request and receipt_wrong_channel: a receipt for another request or another channel", () => {
    const requestId = id();
    const other = id();
    const wrongRequest = refused(signed(other), requestId);
    expect(wrongRequest.code).toBe("receipt_wrong_request");
    expect(wrongRequest.message).toContain(`it is for request ${other}, not ${requestId}`);
    expect(refused(signed(requestId, { channelId: id() }), requestId).code).toBe("receipt_wrong_channel");
  });

  it("receipt_wrong_weights: a receipt naming weights other than the registered model's", () => {
    const requestId = id();
    const weights = `0x${"cd".repeat(32)}` as Hex;
    const error = refused(signed(requestId, { weightsHash: weights }), requestId);
    expect(error.code).toBe("receipt_wrong_weights");
    expect(error.message).toContain(`it names weights ${weights} but model 1 is ${offer.weightsHash}`);
  });

  it("receipt_overcount: more tokens than the request allowed or than arrived, naming both counts", () => {
    const requestId = id();
    const error = refused(signed(requestId, { outputTokens: 17n, cost: 134n }), requestId);
    expect(error.code).toBe("receipt_overcount");
    expect(error.message).toContain("it bills 17 output tokens but the request allowed at most 16");
    const input = refused(signed(requestId, { inputTokens: 101n, cost: 133n }), requestId);
    expect(input.message).toContain("it bills 101 input tokens but the prompt sent holds at most 100");
  });

  it("receipt_overcharge: a cost one base unit above the offer's price for the counts, or counts no price can hold", () => {
    const requestId = id();
    // 100 input tokens at 1 and 16 output tokens at 2 base units each: 132, never 133.
    const error = refused(signed(requestId, { cost: 133n }), requestId);
    expect(error.code).toBe("receipt_overcharge");
    expect(error.message).toContain("it charges 133 but 100 input and 16 output tokens at its price (1000000/2000000 per million) cost at most 132");
    // Rounding is up to the next base unit, never more: 1 input token at 1 base unit per million costs 1.
    const cheap = { ...offer, price: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n } } as Offer;
    const one = signed(requestId, { inputTokens: 1n, outputTokens: 0n, cost: 1n });
    const tiny = { maxOutputTokens: 16n, maxInputTokens: 100n };
    expect(checkReceipt(verifier, cheap, one, { requestId, channelId, bounds: tiny }).cost).toBe(1n);
    const two = signed(requestId, { inputTokens: 1n, outputTokens: 0n, cost: 2n });
    expect(codeOf(() => checkReceipt(verifier, cheap, two, { requestId, channelId, bounds: tiny }))).toBe("receipt_overcharge");
    const huge = { maxOutputTokens: 2n ** 60n, maxInputTokens: 2n ** 60n };
    const implausible = signed(requestId, { inputTokens: 2n ** 53n, outputTokens: 0n, cost: 0n });
    expect(codeOf(() => checkReceipt(verifier, offer, implausible, { requestId, channelId, bounds: huge }))).toBe("receipt_overcharge");
  });

  it("receipt_signature_invalid: signed by another key, or altered after signing", () => {
    const requestId = id();
    expect(refused(signed(requestId, {}, generatePrivateKey()), requestId).code).toBe("receipt_signature_invalid");
    const honest = signed(requestId, { cost: 132n });
    // A lower cost would pass every other check; the signature still ties the receipt to what was signed.
    expect(refused({ ...honest, cost: 100n }, requestId).code).toBe("receipt_signature_invalid");
    expect(refused({ ...honest, responseHash: id() }, requestId).code).toBe("receipt_signature_invalid");
    // A receipt signed for another PaymentChannels deployment does not count here.
    const elsewhere = createPaymentSigner(signerKey, { ...domain, verifyingContract: "0x00000000000000000000000000000000000000cd" }).signReceipt({ ...honest });
    expect(refused(elsewhere, requestId).code).toBe("receipt_signature_invalid");
  });
});
