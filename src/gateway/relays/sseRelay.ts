import type { UpstreamResponse } from "../../common/postUpstream.ts";
import { decodeSseFrame, type StreamOpener } from "../../privacy/index.ts";
import { createEventDecoder, STREAM_DONE, type RawSseEvent } from "../../protocol/events.ts";
import { readGotongFields } from "../../protocol/gotongEvents.ts";
import { chunkOutputBytes } from "../countOutputBytes.ts";
import { gotongSummary, streamError, type GotongSummary, type StreamErrorBody } from "../core/gotongSummary.ts";
import { cutBound, outputBound } from "../core/requestTerms.ts";
import type { RelayContext } from "./RelayContext.ts";

/** One event of a provider's chat-completions stream, parsed. */
export type ChatChunk = Record<string, unknown> & {
  choices?: { index?: number; delta?: { role?: unknown; content?: unknown; tool_calls?: unknown }; text?: unknown; finish_reason?: unknown }[];
  gotong?: Record<string, unknown>;
};

/** One step of a chat or completions stream, as the core hands it on. */
export type ChatStreamEvent =
  /** Complete provider events, none holding the receipt: their bytes as they came, and parsed. */
  | { type: "chunks"; raw: Buffer; chunks: ChatChunk[] }
  /** The final event, its receipt accepted: `chunk.gotong` is now the summary. */
  | { type: "finished"; chunk: ChatChunk; summary: GotongSummary }
  /** The stream failed after it began (a refused receipt, a cut stream, a frame that does not open). */
  | { type: "failed"; error: StreamErrorBody };

/**
 * Reads a provider's SSE stream (sealed frames opened with `opener`) and yields its events,
 * counting the text of each and checking the receipt on the final one. Read one step at a time: a
 * consumer that waits before asking for the next leaves the provider unread, so backpressure
 * reaches the provider. The stream is read to its end even after the client left (the provider was
 * asked to stop): its receipt comes last, and every token before it is counted here as it is there.
 * A stream that ends without a receipt is recorded as cut, bounded by what arrived.
 */
export async function* relaySse(upstream: UpstreamResponse, context: RelayContext, opener?: StreamOpener): AsyncGenerator<ChatStreamEvent> {
  const { offer, terms, signal } = context;
  // The provider's events (for a sealed stream, the plain ones its frames hold), each with its bytes
  // as they came: those are what the client gets, untouched.
  const events = createEventDecoder({ raw: true });
  // A sealed stream: one SSE event per frame, each holding a batch of plain events.
  const frames = opener ? createEventDecoder() : undefined;
  // Counted by the gateway itself: the bytes of text passed on to the client; and the provider's
  // own running count on the last event, which a cut stream is held to as well.
  let receivedBytes = 0;
  let lastCount: bigint | undefined;
  let settled = false;

  // Complete events go out together (for chat, untouched in one write): each is parsed to count the
  // text it carries, and the final one, holding the receipt, is checked and rewritten.
  let raw: Uint8Array[] = [];
  let chunks: ChatChunk[] = [];
  const passOn = (out: ChatStreamEvent[]) => {
    if (raw.length) out.push({ type: "chunks", raw: Buffer.concat(raw), chunks });
    raw = [];
    chunks = [];
  };
  const handle = (event: RawSseEvent, out: ChatStreamEvent[]) => {
    // [DONE] is ours to send once the receipt has been checked; an event of another name is not a chunk.
    if (event.data === STREAM_DONE) return;
    if (event.event !== undefined) {
      raw.push(event.raw);
      return;
    }
    const chunk = JSON.parse(event.data) as ChatChunk;
    receivedBytes += chunkOutputBytes(chunk);
    const gotong = readGotongFields(chunk);
    if (gotong.outputTokens !== undefined) lastCount = BigInt(gotong.outputTokens);
    if (!gotong.final) {
      raw.push(event.raw);
      chunks.push(chunk);
      return;
    }
    // Only the receipt's event is rewritten; the events around it go out as they came.
    passOn(out);
    settled = true; // accepted or refused, this request's receipt has been dealt with
    const checked = context.accept(gotong.final.receipt, outputBound(receivedBytes, terms.choices));
    const summary = gotongSummary(offer, checked, terms.copiesCost);
    chunk.gotong = summary;
    out.push({ type: "finished", chunk, summary });
  };
  const handleFrame = (data: string, out: ChatStreamEvent[]) => {
    for (const event of events.push(opener!.open(decodeSseFrame(data)).plaintext)) handle(event, out);
  };

  try {
    for await (const bytes of upstream.body) {
      const out: ChatStreamEvent[] = [];
      try {
        if (!frames) for (const event of events.push(bytes)) handle(event, out);
        else {
          // The clear receipt trailer (a named event) is for relays that cannot open frames; we read the sealed one.
          for (const frame of frames.push(bytes)) if (frame.event === undefined) handleFrame(frame.data, out);
        }
      } finally {
        // What was read before an error is passed on before the error itself.
        passOn(out);
        if (!signal.aborted) yield* out;
      }
    }
    if (opener && !opener.finished && !settled && !signal.aborted) opener.end(); // a sealed stream cut short is refused as truncated
    if (!settled && !signal.aborted) yield { type: "failed", error: streamError(offer) };
  } catch (error) {
    if (signal.aborted) return;
    yield { type: "failed", error: streamError(offer, error) };
  } finally {
    // A cut stream: remember exactly how much arrived, so its receipt can be checked later.
    if (!settled) context.cut(cutBound(receivedBytes, lastCount, terms.choices));
  }
}
