import type { SseStream } from "../common/http.ts";

/**
 * Tokens that come closer together than this go out together, in one socket write: a fast model's
 * tokens (stories260K on one thread: one every 0.7 ms) then cost the gateway and the client a
 * wakeup every few tokens instead of every token, on machines where those processes share the
 * cores with the engine (measured with bench/throughput.ts-style A/B rounds on 2 cores: tokens/s
 * through gateway + provider about 1.13× sealed and 1.06× unsealed, the provider alone 1.04×).
 * A model slower than this, which is most, never waits: each token goes out as it comes.
 */
export const TOKEN_WRITE_WINDOW_MS = 2;

/**
 * An SSE stream for the provider's token loop: events reach `sse` (and so the socket) in the order
 * they were sent, but
 * - events up to the first token's go on at once, as they did without pacing: the time to first
 *   token does not change, and a chat's opening event still leaves alone, before any token;
 * - later events are handed on a turn of the event loop later, after the engine's next step has
 *   been dispatched (node-llama-cpp dispatches with setImmediate, queued after this token's event;
 *   handed on at once, the write and, sealed, the sealing would run before the engine starts, every
 *   token), so the write runs while the engine computes the next token;
 * - and no sooner than `windowMs` after the last tokens went on: those that come within it go
 *   together, in one write.
 * `end` hands everything on at once. Only what has reached the socket counts as sent (`sentMark`),
 * so a client that leaves is billed for what it was written, as before.
 */
export function paceTokenWrites(sse: SseStream, windowMs = TOKEN_WRITE_WINDOW_MS): SseStream {
  let queued: { data: unknown; mark: number | undefined }[] = [];
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  // When tokens (events with a mark) last went on; none yet: the first one goes at once.
  let lastTokens: number | undefined;
  const release = () => {
    scheduled = false;
    clearTimeout(timer);
    clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
    const events = queued;
    queued = [];
    for (const { data, mark } of events) {
      if (mark !== undefined) lastTokens = performance.now();
      sse.send(data, mark);
    }
  };
  return {
    send(data, mark) {
      // Until the first token, as before: a chat's opening event, then the first token, at once.
      if (lastTokens === undefined) {
        if (mark !== undefined) lastTokens = performance.now();
        sse.send(data, mark);
        return;
      }
      queued.push({ data, mark });
      if (scheduled) return;
      scheduled = true;
      const wait = lastTokens + windowMs - performance.now();
      // From a timer too, the events are handed on in the check phase, after the engine's dispatch.
      if (wait <= 0) immediate = setImmediate(release);
      else timer = setTimeout(() => (immediate = setImmediate(release)), wait);
    },
    forward(events) {
      release();
      sse.forward(events);
    },
    sentMark: () => sse.sentMark(),
    whenWritable: () => sse.whenWritable(),
    end(trailer, done) {
      release();
      sse.end(trailer, done);
    },
  };
}
