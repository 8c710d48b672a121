import type { Hex } from "viem";
import type { SignedReceipt } from "../../protocol/receipt.ts";
import type { RequestTerms } from "../core/requestTerms.ts";
import type { Offer } from "../discoverOffers.ts";

/**
 * What a relay needs from the core for one request whose provider answered 200: who serves it, its
 * terms, and the two ways money is settled. The relay counts what arrives; the core decides what
 * that pays.
 */
export type RelayContext = {
  offer: Offer;
  requestId: Hex;
  terms: RequestTerms;
  /** Aborts when the client has left: events are still read to the end (and counted), none is reported. */
  signal: AbortSignal;
  /**
   * Checks the provider's receipt against the request's terms and what arrived, and pays for it
   * once. Throws (and pays nothing, excluding the provider) when it is refused.
   */
  accept(receipt: SignedReceipt | undefined, receivedOutputTokens: bigint): SignedReceipt;
  /** The stream ended without its receipt: record exactly how much arrived, so it is settled later. */
  cut(observedOutputTokens: bigint): void;
};
