import type { UpstreamResponse } from "../../common/postUpstream.ts";
import { createEventDecoder } from "../../protocol/events.ts";
import { readReceiptTrailer } from "../../protocol/gotongEvents.ts";
import { gotongSummary, streamError, type GotongSummary, type StreamErrorBody } from "../core/gotongSummary.ts";
import { cutBound, outputBound } from "../core/requestTerms.ts";
import type { RelayContext } from "./RelayContext.ts";

/** One step of a stream the gateway cannot read (sealed by the client to the provider). */
export type SealedStreamEvent =
  /** Complete SSE events as the provider sent them (sealed frames), to pass on untouched. */
  | { type: "frames"; raw: Buffer }
  /** The clear receipt trailer, checked and paid: what the client is told it cost. */
  | { type: "finished"; summary: GotongSummary }
  /** The stream failed after it began. */
  | { type: "failed"; error: StreamErrorBody };

/** The provider's clear running count of output tokens, which it puts in each frame's `id`. */
const RUNNING_COUNT = /^\d{1,20}$/;

/**
 * Relays a stream the gateway cannot read: sealed frames pass through untouched, while the clear
 * receipt trailer lets it check the bill before paying. What it can count itself is the size of
 * the sealed frames (their base64 text, larger than the text a frame holds): no more text than
 * that arrived. Read one step at a time, like relaySse.
 */
export async function* relaySealed(upstream: UpstreamResponse, context: RelayContext): AsyncGenerator<SealedStreamEvent> {
  const { offer, terms, signal } = context;
  const decoder = createEventDecoder({ raw: true });
  let receivedBytes = 0;
  let lastCount: bigint | undefined; // the provider's clear running count (`id:`) on the last frame
  let settled = false;
  try {
    for await (const bytes of upstream.body) {
      // Events of one read go out together once all of them are dealt with (a refused receipt
      // sends none of them: the error event says why).
      const out: SealedStreamEvent[] = [];
      let passOn: Uint8Array[] = [];
      const flush = () => {
        if (passOn.length) out.push({ type: "frames", raw: Buffer.concat(passOn) });
        passOn = [];
      };
      for (const event of decoder.push(bytes)) {
        const trailer = readReceiptTrailer(event);
        if (trailer) {
          settled = true;
          const receipt = context.accept(trailer.receipt, outputBound(receivedBytes));
          flush();
          out.push({ type: "finished", summary: gotongSummary(offer, receipt, terms.copiesCost) });
          continue;
        }
        if (event.event === undefined) receivedBytes += Buffer.byteLength(event.data);
        if (event.id !== undefined && RUNNING_COUNT.test(event.id)) lastCount = BigInt(event.id);
        passOn.push(event.raw);
      }
      flush();
      if (!signal.aborted) yield* out;
    }
    if (!settled && !signal.aborted) yield { type: "failed", error: streamError(offer) };
  } catch (error) {
    if (!signal.aborted) yield { type: "failed", error: streamError(offer, error) };
  } finally {
    if (!settled) context.cut(cutBound(receivedBytes, lastCount));
  }
}
