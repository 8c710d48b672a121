import type { UpstreamResponse } from "../../common/postUpstream.ts";
import { createBinaryFrameReader, type StreamOpener } from "../../privacy/index.ts";
import { decodeReceiptHeader } from "../../protocol/receipt.ts";
import { HEADERS } from "../../protocol/wire.ts";
import { answerOutputBytes } from "../countOutputBytes.ts";
import type { GotongSummary } from "../core/gotongSummary.ts";
import { gotongSummary } from "../core/gotongSummary.ts";
import { outputBound } from "../core/requestTerms.ts";
import type { RelayContext } from "./RelayContext.ts";

/** A whole answer whose receipt was accepted. */
export type RelayedAnswer = { body: Record<string, unknown>; summary: GotongSummary };

/**
 * Reads a provider's whole (non-streamed) answer, opening it when it was sealed to us, and pays for
 * it: the receipt in its header is checked against the text that actually arrived.
 *
 * @param opener Opens the answer's frames when the request was sealed end to end.
 * @throws The receipt's refusal (nothing is paid, the provider is excluded).
 */
export async function relayJson(upstream: UpstreamResponse, context: RelayContext, opener?: StreamOpener): Promise<RelayedAnswer> {
  let bytes = await upstream.bytes();
  if (opener) {
    const reader = createBinaryFrameReader();
    const parts = reader.push(bytes).map((frame) => opener.open(frame).plaintext);
    reader.end();
    opener.end();
    bytes = Buffer.concat(parts);
  }
  const body = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  const header = upstream.header(HEADERS.receipt);
  const received = outputBound(answerOutputBytes(body), context.terms.choices);
  const receipt = context.accept(header ? decodeReceiptHeader(header) : undefined, received);
  return { body, summary: gotongSummary(context.offer, receipt, context.terms.copiesCost) };
}
