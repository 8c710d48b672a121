import type { Address, Hex } from "viem";
import { isGotongError } from "../../common/errors.ts";
import type { SignedReceipt } from "../../protocol/receipt.ts";
import type { Offer } from "../discoverOffers.ts";

/** What Gotong adds to a paid answer: its checked receipt's id, cost and counts, who served it. */
export type GotongSummary = {
  receiptId: Hex;
  /** What the request cost the client, in base units (a decimal string). */
  cost: string;
  /** Part of `cost` paid for copies of the request someone else delivered first. */
  replayedCost?: string;
  inputTokens: number;
  outputTokens: number;
  provider: Address;
  modelId: string;
  weightsHash: Hex;
};

/** The OpenAI-shaped error that ends a stream whose 200 has gone out. */
export type StreamErrorBody = { error: { message: string; type: string; code: string; param: null } };

/** Summary of a paid request, returned to the client in headers and the final SSE event. */
export function gotongSummary(offer: Pick<Offer, "provider" | "modelId">, receipt: SignedReceipt, copiesCost = 0n): GotongSummary {
  return {
    receiptId: receipt.requestId,
    // What this request cost the client: its receipt, plus any copy of it someone else delivered
    // first (paid too), so the costs clients are told add up to what the gateway spent.
    cost: (receipt.cost + copiesCost).toString(),
    ...(copiesCost > 0n ? { replayedCost: copiesCost.toString() } : {}),
    inputTokens: Number(receipt.inputTokens),
    outputTokens: Number(receipt.outputTokens),
    provider: offer.provider,
    modelId: offer.modelId.toString(),
    weightsHash: receipt.weightsHash,
  };
}

/**
 * The error event that ends a stream after its 200 went out: the error met (a refused receipt, a
 * frame that does not open), or, without one, the provider's stream ending before its receipt.
 */
export function streamError(offer: Pick<Offer, "provider">, error?: unknown): StreamErrorBody {
  const known = isGotongError(error);
  return {
    error: {
      message: known ? error.message : `Provider ${offer.provider} stopped mid-stream`,
      type: "server_error",
      code: known ? error.code : "provider_stream_cut",
      param: null,
    },
  };
}
