/**
 * Server-Sent Events as Gotong's streams carry them (the WHATWG rules for `event`, `id` and
 * `data`): the encoder every side writes with and an incremental decoder. No Node APIs, so the
 * browser app can use it too.
 */

import { GotongError } from "../common/errors.ts";

/** One Server-Sent Event: its name when it has one (absent means "message"), its id when it set one, and its `data` lines joined by "\n". */
export type SseEvent = { event?: string; id?: string; data: string };

/** The `data` of the event that ends an OpenAI-style stream. */
export const STREAM_DONE = "[DONE]";

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Encodes one event: `event:` and `id:` lines when given, one `data:` line per line of `data`,
 * then the blank line that ends it. A JSON `data` is one line, so it is written exactly as
 * `data: <json>\n\n`, the bytes a relay scans for.
 *
 * @example encodeEvent({ data: '{"a":1}' }) // 'data: {"a":1}\n\n'
 * @example encodeEvent({ event: "receipt", data: "{}" }) // "event: receipt\ndata: {}\n\n"
 */
export function encodeEvent(event: SseEvent): string {
  let head = "";
  if (event.event !== undefined) head += `event: ${oneLine(event.event, "event")}\n`;
  if (event.id !== undefined) head += `id: ${oneLine(event.id, "id")}\n`;
  // Per-token events are single-line JSON: only text with a line break pays for the split.
  if (!LINE_BREAK.test(event.data)) return `${head}data: ${event.data}\n\n`;
  return `${head}${event.data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join("")}\n`;
}

function oneLine(value: string, field: string): string {
  if (LINE_BREAK.test(value)) throw new TypeError(`An SSE ${field} cannot hold a line break: ${JSON.stringify(value)}`);
  return value;
}

/** The incremental decoder {@link createEventDecoder} returns. */
export type EventDecoder<E extends SseEvent = SseEvent> = {
  /** Takes the next piece of the stream, cut anywhere (inside a line, a UTF-8 character or a CRLF); returns the events it completed. */
  push(chunk: string | Uint8Array): E[];
  /** The stream ended: returns the events completed by its last bytes. An event not ended by a blank line is dropped, as the SSE rules say. */
  end(): E[];
  /** True while part of an event has arrived without the blank line that ends it (a stream cut here lost an event). */
  pending(): boolean;
};

/**
 * An event with the bytes it came as: everything the stream carried since the previous event
 * ended (comments and data-less blocks before it included), through the blank line that ends it.
 * The `raw` of successive events are successive pieces of the stream, so a relay that passes them
 * on passes the sender's bytes on exactly, wherever the stream was cut.
 */
export type RawSseEvent = SseEvent & { raw: Uint8Array };

/**
 * The most bytes the decoder holds for one event (with raw, everything since the last event). A
 * token chunk or a receipt is a few hundred bytes; the bound stops a sender that never ends a line
 * or an event (an endless comment, say) from growing the reader's memory without end.
 */
export const MAX_EVENT_BYTES = 1 << 20;

const LF = 0x0a;
const CR = 0x0d;
const BOM = "\uFEFF";

/**
 * An incremental SSE decoder: feed it the stream as it arrives, get each complete event. Lines may
 * end in LF, CRLF or CR; comment lines (`: keep-alive`) and unknown fields are skipped; a field's
 * value loses one leading space. An event's `id` is the one set in that event (not carried over).
 * With `{ raw: true }` each event also carries its bytes as they came (see RawSseEvent).
 *
 * Lines are found in the bytes (a line break is one ASCII byte, never part of a UTF-8 character),
 * and each whole line is decoded on its own, so a cut inside a character changes nothing.
 *
 * @example
 * const decoder = createEventDecoder();
 * for await (const bytes of response.body) for (const e of decoder.push(bytes)) handle(e);
 * @example createEventDecoder({ raw: true }).push(bytes)[0]?.raw // the event's bytes, to forward untouched
 */
export function createEventDecoder(options?: { maxEventBytes?: number }): EventDecoder<SseEvent>;
export function createEventDecoder(options: { raw: true; maxEventBytes?: number }): EventDecoder<RawSseEvent>;
export function createEventDecoder(options: { raw?: boolean; maxEventBytes?: number } = {}): EventDecoder<SseEvent | RawSseEvent> {
  const keepRaw = options.raw === true;
  const maxEventBytes = options.maxEventBytes ?? MAX_EVENT_BYTES;
  const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
  const encoder = new TextEncoder();
  // The bytes not yet handed out: from `rawStart` (the end of the last event, when raw is kept)
  // through what has arrived; `lineStart` is where the next unread line begins.
  let buffer = new Uint8Array(0);
  let rawStart = 0;
  let lineStart = 0;
  let searched = 0; // bytes before this hold no line break past `lineStart`
  let firstLine = true;
  // A string cut between the two halves of a surrogate pair: its first half waits for the second.
  let heldSurrogate = "";
  let data: string[] = [];
  let name: string | undefined;
  let id: string | undefined;
  let partial = false;
  let eventBytes = 0; // the lines of the event being read, so far (bounded by maxEventBytes)

  const takeLine = (line: string, end: number, out: (SseEvent | RawSseEvent)[]) => {
    if (firstLine) {
      firstLine = false;
      if (line.startsWith(BOM)) line = line.slice(1);
    }
    if (line === "") {
      // An event with no data line is not dispatched (it may still have set a name or id).
      if (data.length > 0) {
        const event: SseEvent = { ...(name !== undefined ? { event: name } : {}), ...(id !== undefined ? { id } : {}), data: data.join("\n") };
        if (keepRaw) {
          out.push({ ...event, raw: buffer.slice(rawStart, end) });
          rawStart = end;
        } else out.push(event);
      }
      data = [];
      name = undefined;
      id = undefined;
      partial = false;
      eventBytes = 0;
      return;
    }
    partial = true;
    eventBytes += line.length + 1;
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") name = value;
    else if (field === "id" && !value.includes("\0")) id = value;
  };

  const takeLines = (final: boolean): (SseEvent | RawSseEvent)[] => {
    const out: (SseEvent | RawSseEvent)[] = [];
    // The next LF and CR (-1: none), each searched again only once passed, and never in bytes an
    // earlier push searched already: a long line arriving in many pieces is scanned once.
    const from = Math.max(lineStart, searched);
    let lf = buffer.indexOf(LF, from);
    let cr = buffer.indexOf(CR, from);
    searched = buffer.length;
    for (;;) {
      if (lf >= 0 && lf < lineStart) lf = buffer.indexOf(LF, lineStart);
      if (cr >= 0 && cr < lineStart) cr = buffer.indexOf(CR, lineStart);
      const at = cr < 0 ? lf : lf < 0 ? cr : Math.min(lf, cr);
      if (at < 0) break;
      let next = at + 1;
      if (buffer[at] === CR) {
        // A CR that ends what has arrived may be the first half of a CRLF cut in two: wait for the next byte.
        if (at === buffer.length - 1 && !final) {
          searched = at;
          break;
        }
        if (buffer[at + 1] === LF) next = at + 2;
      }
      takeLine(utf8.decode(buffer.subarray(lineStart, at)), next, out);
      lineStart = next;
    }
    if (lineStart < buffer.length) partial = true;
    // Keep only what is still needed: the unread line, and with raw the bytes since the last event.
    const keepFrom = keepRaw ? rawStart : lineStart;
    if (keepFrom > 0) {
      buffer = buffer.slice(keepFrom);
      lineStart -= keepFrom;
      rawStart -= keepFrom;
      searched -= keepFrom;
    }
    const held = Math.max(buffer.length, eventBytes + buffer.length - lineStart);
    if (held > maxEventBytes) {
      throw new GotongError(`The event stream sent ${held} bytes without ending an event (at most ${maxEventBytes} are kept)`, {
        code: "event_too_large",
        status: 502,
      });
    }
    return out;
  };

  const append = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    if (buffer.length === 0) {
      buffer = bytes.slice();
      return;
    }
    const joined = new Uint8Array(buffer.length + bytes.length);
    joined.set(buffer);
    joined.set(bytes, buffer.length);
    buffer = joined;
  };

  return {
    push(chunk) {
      if (typeof chunk === "string") {
        let text = heldSurrogate + chunk;
        heldSurrogate = "";
        const last = text.charCodeAt(text.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          heldSurrogate = text.slice(-1);
          text = text.slice(0, -1);
        }
        append(encoder.encode(text));
      } else {
        if (heldSurrogate) append(encoder.encode(heldSurrogate)); // a lone half: bytes do not complete it
        heldSurrogate = "";
        append(chunk);
      }
      return takeLines(false);
    },
    end() {
      if (heldSurrogate) append(encoder.encode(heldSurrogate));
      heldSurrogate = "";
      return takeLines(true);
    },
    pending: () => partial,
  };
}

/**
 * The events of a stream of bytes or text, each yielded as soon as it is complete.
 *
 * @example for await (const e of readEvents(res.body)) if (e.data !== STREAM_DONE) handle(JSON.parse(e.data));
 */
export async function* readEvents(body: AsyncIterable<string | Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = createEventDecoder();
  for await (const chunk of body) yield* decoder.push(chunk);
  yield* decoder.end();
}
