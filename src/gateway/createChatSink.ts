import type { ServerResponse } from "node:http";
import type { Hex } from "viem";
import { sendJson, startSse, type SseStream } from "../common/http.ts";
import { encodeEvent } from "../protocol/events.ts";
import type { GotongSummary } from "./core/gotongSummary.ts";
import type { ChatChunk } from "./relays/sseRelay.ts";

// The shapes the core hands on, re-exported for the sinks that write them.
export type { GotongSummary } from "./core/gotongSummary.ts";
export type { ChatChunk } from "./relays/sseRelay.ts";

/**
 * Where the relay writes a provider's answer once it has paid for it. The relay keeps the money
 * (counting what arrives, checking the receipt, recording a cut stream); a sink only decides how
 * the answer looks to the client: chat completions as the provider sent them, or a translation
 * (the Responses API).
 */
export type RelaySink = {
  /** The client's connection: the relay watches it for backpressure and hang-ups. */
  readonly res: ServerResponse;
  /** A whole (non-streamed) answer whose receipt was accepted, with Gotong's headers for it. */
  completion(body: Record<string, unknown>, summary: GotongSummary, headers: Record<string, string>): void;
  /** The provider refused the request itself (any provider would): its status and error body. */
  refused(status: number, body: unknown): void;
  /** A stream begins; `headers` are Gotong's (provider, request id). */
  open(headers: Record<string, string>, requestId: Hex): void;
  /** Complete provider events, none of them holding the receipt: as they came, and parsed. */
  events(raw: Buffer, chunks: ChatChunk[]): void;
  /** The stream's final event, its receipt accepted: `chunk.gotong` is now the summary. */
  finished(chunk: ChatChunk, summary: GotongSummary): void;
  /** The stream failed after its 200 went out (`error` is an OpenAI-shaped error body). */
  failed(error: { error: { message: string; type: string; code: string; param: null } }): void;
  /** Ends the stream. */
  end(): void;
};

/**
 * The sink of `/v1/chat/completions` and `/v1/completions`: the provider's answer passed on as it
 * came, byte for byte, with only its receipt event rewritten into Gotong's summary.
 *
 * @param res The client's response.
 * @param stallMs Cut a stream whose client has read nothing for this long.
 */
export function createChatSink(res: ServerResponse, stallMs: number): RelaySink {
  let sse: SseStream | undefined;
  return {
    res,
    completion(body, summary, headers) {
      body.gotong = summary;
      sendJson(res, 200, body, headers);
    },
    refused(status, body) {
      sendJson(res, status, body);
    },
    open(headers) {
      sse = startSse(res, headers, undefined, stallMs);
    },
    events(raw) {
      sse!.forward(raw); // the provider's bytes, untouched
    },
    finished(chunk) {
      sse!.forward(Buffer.from(encodeEvent({ data: JSON.stringify(chunk) })));
    },
    failed(error) {
      sse!.send(error);
    },
    end() {
      sse!.end();
    },
  };
}
