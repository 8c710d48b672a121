import type { Hex } from "viem";
import { paymentRefusedError, type PaymentsErrorCode } from "../payments/errors.ts";
import { computeCost } from "../payments/price.ts";
import type { PaymentVerifier } from "../payments/createPaymentVerifier.ts";
import type { SignedReceipt } from "../protocol/receipt.ts";
import type { Offer } from "./discoverOffers.ts";

/**
 * Tokens a provider may bill beyond what the gateway saw arrive, on a stream the client cut: those
 * written to the socket but still in flight when the connection closed. Neither side can know them.
 */
export const IN_FLIGHT_TOKEN_ALLOWANCE = 8n;

/**
 * What the gateway knows by itself about a request, to bound the bill without trusting the
 * provider's counts: the output cap it asked for, an upper bound on the prompt's tokens (every token
 * is at least one byte, plus a chat template's few), and what actually arrived (every billed output
 * token delivered at least one byte of text; one more for an end-of-sequence token).
 */
export type ReceiptBounds = {
  maxOutputTokens: bigint;
  maxInputTokens: bigint;
  /** Output the gateway received, counted by itself; undefined when nothing could be counted. */
  receivedOutputTokens?: bigint;
};

/**
 * Checks a provider's receipt before the gateway pays for it: signed by that provider, for this
 * request and channel, naming the registered weights, charging no more than the offer's price for
 * the tokens it reports, and reporting no more tokens than the gateway's own bounds allow.
 */
export function checkReceipt(
  verifier: PaymentVerifier,
  offer: Offer,
  receipt: SignedReceipt | undefined,
  expected: { requestId: Hex; channelId: Hex; bounds: ReceiptBounds; cut?: boolean },
): SignedReceipt {
  const refuse = (message: string, code: PaymentsErrorCode) =>
    paymentRefusedError(code, `Refused the receipt from provider ${offer.provider}: ${message}`, { status: 502, hint: "Nothing was paid for this request; the gateway stops routing to this provider." });
  if (!receipt) throw refuse("it is missing or malformed", "receipt_missing");
  if (receipt.requestId !== expected.requestId) throw refuse(`it is for request ${receipt.requestId}, not ${expected.requestId}`, "receipt_wrong_request");
  if (receipt.channelId !== expected.channelId) throw refuse("it names another channel", "receipt_wrong_channel");
  if (receipt.weightsHash.toLowerCase() !== offer.weightsHash.toLowerCase()) {
    throw refuse(`it names weights ${receipt.weightsHash} but model ${offer.modelId} is ${offer.weightsHash}`, "receipt_wrong_weights");
  }
  const { bounds } = expected;
  if (receipt.outputTokens > bounds.maxOutputTokens) {
    throw refuse(`it bills ${receipt.outputTokens} output tokens but the request allowed at most ${bounds.maxOutputTokens}`, "receipt_overcount");
  }
  const allowance = expected.cut ? IN_FLIGHT_TOKEN_ALLOWANCE : 0n;
  if (bounds.receivedOutputTokens !== undefined && receipt.outputTokens > bounds.receivedOutputTokens + allowance) {
    throw refuse(`it bills ${receipt.outputTokens} output tokens but what arrived holds at most ${bounds.receivedOutputTokens}`, "receipt_overcount");
  }
  if (receipt.inputTokens > bounds.maxInputTokens) {
    throw refuse(`it bills ${receipt.inputTokens} input tokens but the prompt sent holds at most ${bounds.maxInputTokens}`, "receipt_overcount");
  }
  if (receipt.inputTokens >= 2n ** 53n || receipt.outputTokens >= 2n ** 53n) throw refuse("its token counts are implausible", "receipt_overcharge");
  const fair = computeCost(offer.price, { inputTokens: Number(receipt.inputTokens), outputTokens: Number(receipt.outputTokens) });
  if (receipt.cost > fair) {
    throw refuse(
      `it charges ${receipt.cost} but ${receipt.inputTokens} input and ${receipt.outputTokens} output tokens at its price (${offer.price.pricePerMillionInput}/${offer.price.pricePerMillionOutput} per million) cost at most ${fair}`,
      "receipt_overcharge",
    );
  }
  if (!verifier.receiptSignedBy(receipt, offer.provider)) throw refuse("its signature is not the provider's", "receipt_signature_invalid");
  return receipt;
}
