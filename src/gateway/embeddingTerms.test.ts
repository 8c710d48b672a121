import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { isGotongError } from "../common/errors.ts";
import { createPaymentSigner } from "../payments/createPaymentSigner.ts";
import { createPaymentVerifier } from "../payments/createPaymentVerifier.ts";
import { computeCost } from "../payments/price.ts";
import { checkReceipt } from "./checkReceipt.ts";
import type { Offer } from "./discoverOffers.ts";
import { embeddingTerms } from "./embeddingTerms.ts";

const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000cc" as const };
const key = generatePrivateKey();
const signer = createPaymentSigner(key, domain);
const verifier = createPaymentVerifier(domain);
const price = { pricePerMillionInput: 3_000_000n, pricePerMillionOutput: 5_000_000n };
const offer = { provider: privateKeyToAccount(key).address, weightsHash: `0x${"ab".repeat(32)}`, price, modelId: 1n } as unknown as Offer;
const id = () => `0x${randomBytes(32).toString("hex")}` as Hex;

function receiptFor(requestId: Hex, channelId: Hex, inputTokens: number, outputTokens: number) {
  const cost = computeCost(price, { inputTokens, outputTokens });
  return signer.signReceipt({
    requestId, channelId, weightsHash: offer.weightsHash, inputTokens: BigInt(inputTokens), outputTokens: BigInt(outputTokens),
    cost, cumulativeOwed: cost, requestHash: id(), responseHash: id(),
  });
}

describe("embeddingTerms", () => {
  it("bounds input by bytes (texts) or ids (token lists) without a tokenizer, and allows no output", () => {
    // "héllo" is 6 bytes: 6 + 4; "ab" 2 + 4.
    expect(embeddingTerms(offer, { input: ["héllo", "ab"] })).toMatchObject({ maxInputTokens: 16n, maxOutputTokens: 0n, maxCost: 48n });
    expect(embeddingTerms(offer, { input: [[5, 6, 7], [8]] })).toMatchObject({ maxInputTokens: 8n, maxOutputTokens: 0n });
    expect(embeddingTerms(offer, { input: [5, 6, 7] }).maxInputTokens).toBe(5n);
  });

  it("is the exact count when the tokenizer is at hand, and the deposit covers exactly its cost", () => {
    const seen: unknown[] = [];
    const terms = embeddingTerms(offer, { input: "Once upon a time" }, (hash, inputs) => {
      seen.push(hash, inputs);
      return 5;
    });
    expect(seen).toEqual([offer.weightsHash, ["Once upon a time"]]);
    expect(terms).toMatchObject({ maxInputTokens: 5n, maxCost: 15n });
    // A counter without this model's tokenizer falls back to the byte bound.
    expect(embeddingTerms(offer, { input: "Once upon a time" }, () => undefined).maxInputTokens).toBe(20n);
  });

  it("refuses a receipt that bills any output token, or one input token more than counted", () => {
    const terms = embeddingTerms(offer, { input: "Once upon a time" }, () => 5);
    const channelId = id();
    const check = (input: number, output: number) => {
      const requestId = id();
      try {
        checkReceipt(verifier, offer, receiptFor(requestId, channelId, input, output), { requestId, channelId, bounds: { ...terms, receivedOutputTokens: 1n } });
        return "accepted";
      } catch (error) {
        return isGotongError(error) ? error.code : String(error);
      }
    };
    expect(check(5, 0)).toBe("accepted");
    expect(check(4, 0)).toBe("accepted");
    expect(check(5, 1)).toBe("receipt_overcount");
    expect(check(6, 0)).toBe("receipt_overcount");
  });

  it("refuses a malformed input before anything is paid", () => {
    expect(() => embeddingTerms(offer, { input: [] })).toThrow(/empty array/);
  });
});
