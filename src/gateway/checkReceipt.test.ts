import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { isGotongError } from "../common/errors.ts";
import { createPaymentSigner } from "../payments/createPaymentSigner.ts";
import { createPaymentVerifier } from "../payments/createPaymentVerifier.ts";
import { computeCost } from "../payments/price.ts";
import { checkReceipt, type ReceiptBounds } from "./checkReceipt.ts";
import type { Offer } from "./discoverOffers.ts";

const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000cc" as const };
const key = generatePrivateKey();
const signer = createPaymentSigner(key, domain);
const verifier = createPaymentVerifier(domain);
const price = { pricePerMillionInput: 1_000_000n, pricePerMillionOutput: 2_000_000n };
const offer = { provider: privateKeyToAccount(key).address, weightsHash: `0x${"ab".repeat(32)}`, price, modelId: 1n } as unknown as Offer;
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
