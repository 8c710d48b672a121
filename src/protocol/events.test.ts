import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createEventDecoder, encodeEvent, readEvents, STREAM_DONE, type RawSseEvent, type SseEvent } from "./events.ts";

/** Decodes `stream` fed in pieces cut at `cuts` (byte offsets when `bytes`). */
function decodeCut(stream: string, cuts: number[], bytes: boolean): SseEvent[] {
  const decoder = createEventDecoder();
  const whole = bytes ? new TextEncoder().encode(stream) : stream;
  const events: SseEvent[] = [];
  let at = 0;
  for (const cut of [...cuts, whole.length]) {
    events.push(...decoder.push(whole.slice(at, cut)));
    at = cut;
  }
  return [...events, ...decoder.end()];
}

describe("encodeEvent", () => {
  it("writes a one-line data event as data: <data> and a blank line", () => {
    expect(encodeEvent({ data: '{"a":1}' })).toBe('data: {"a":1}\n\n');
    expect(encodeEvent({ data: STREAM_DONE })).toBe("data: [DONE]\n\n");
    expect(encodeEvent({ data: "" })).toBe("data: \n\n");
  });

  it("puts the event name and id first, and one data line per line of data", () => {
    expect(encodeEvent({ event: "receipt", data: "{}" })).toBe("event: receipt\ndata: {}\n\n");
    expect(encodeEvent({ id: "17", data: "AAEC" })).toBe("id: 17\ndata: AAEC\n\n");
    expect(encodeEvent({ event: "e", id: "1", data: "a\nb\r\nc\rd" })).toBe("event: e\nid: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
    expect(encodeEvent({ data: "a\n" })).toBe("data: a\ndata: \n\n");
  });

  it("refuses a line break in an event name or id, which would end the field", () => {
    expect(() => encodeEvent({ event: "a\nb", data: "x" })).toThrow(/SSE event cannot hold a line break/);
    expect(() => encodeEvent({ id: "1\r", data: "x" })).toThrow(/SSE id cannot hold a line break/);
  });
});

describe("createEventDecoder", () => {
  const events: SseEvent[] = [
    { data: '{"choices":[{"delta":{"content":"héllo 🌏"}}]}' },
    { event: "receipt", data: '{"cost":"42"}' },
    { id: "12", data: "frame" },
    { data: "line one\nline two\n\nafter a blank" },
    { data: "" },
    { data: STREAM_DONE },
  ];
  const stream = events.map(encodeEvent).join("");

  it("decodes what encodeEvent wrote", () => {
    expect(decodeCut(stream, [], false)).toEqual(events);
  });

  it("gives the same events wherever the stream is cut, as text or as bytes (inside a UTF-8 character too)", () => {
    const bytes = new TextEncoder().encode(stream).length;
    for (let cut = 0; cut <= bytes; cut++) expect(decodeCut(stream, [cut], true), `byte ${cut}`).toEqual(events);
    for (let cut = 0; cut <= stream.length; cut++) expect(decodeCut(stream, [cut], false), `char ${cut}`).toEqual(events);
    // One byte at a time.
    expect(decodeCut(stream, Array.from({ length: bytes }, (_, i) => i), true)).toEqual(events);
  });

  it("reads CRLF and CR line ends, a CRLF cut between its two bytes included", () => {
    const crlf = "event: receipt\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\rdata: d\n\r\n";
    const expected = [{ event: "receipt", data: "a\nb" }, { data: "c" }, { data: "d" }];
    expect(decodeCut(crlf, [], false)).toEqual(expected);
    for (let cut = 0; cut <= crlf.length; cut++) expect(decodeCut(crlf, [cut], false), `cut ${cut}`).toEqual(expected);
    // "data: a\r" then "\ndata: b": the CR must not end a line and the LF another, empty one.
    const decoder = createEventDecoder();
    expect(decoder.push("data: a\r")).toEqual([]);
    expect(decoder.push("\ndata: b\r\n")).toEqual([]);
    expect(decoder.push("\r\n")).toEqual([{ data: "a\nb" }]);
  });

  it("skips comments and unknown fields, takes values without a space, and dispatches no event without data", () => {
    const text = ": keep-alive\n\nretry: 10\nfoo: bar\ndata:tight\ndata\n\nevent: lonely\nid: 3\n\ndata: x\n\n";
    expect(decodeCut(text, [], false)).toEqual([{ data: "tight\n" }, { data: "x" }]);
  });

  it("drops an event cut off by the end of the stream, and says one is pending", () => {
    const decoder = createEventDecoder();
    expect(decoder.pending()).toBe(false);
    expect(decoder.push("data: whole\n\ndata: cut")).toEqual([{ data: "whole" }]);
    expect(decoder.pending()).toBe(true);
    expect(decoder.end()).toEqual([]);
    const ended = createEventDecoder();
    ended.push("data: a\n");
    expect(ended.pending()).toBe(true);
    ended.push("\n");
    expect(ended.pending()).toBe(false);
  });

  it("ends an event whose last line end is a CR only at the end of the stream", () => {
    const decoder = createEventDecoder();
    expect(decoder.push("data: a\n\r")).toEqual([]);
    expect(decoder.end()).toEqual([{ data: "a" }]);
  });

  it("reads names, ids and multi-line data the same however the text is cut", () => {
    const text = 'id: 3\ndata: abc\n\n: keep-alive\n\nevent: gotong\ndata: {"a":1}\n\ndata: x\r\ndata: y\r\n\r\n';
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 6 }), (cuts) => {
        expect(decodeCut(text, cuts.sort((a, b) => a - b), false)).toEqual([{ id: "3", data: "abc" }, { event: "gotong", data: '{"a":1}' }, { data: "x\ny" }]);
      }),
    );
  });

  it("ignores a byte-order mark at the start", () => {
    expect(decodeCut("\uFEFFdata: a\n\n", [], false)).toEqual([{ data: "a" }]);
    expect(decodeCut("\uFEFFdata: a\n\n", [1], true)).toEqual([{ data: "a" }]);
  });
});

describe("createEventDecoder({ raw: true })", () => {
  /** Decodes the bytes of `stream` cut at `cuts`, keeping each event's raw bytes. */
  function decodeRaw(stream: string | Uint8Array, cuts: number[]): RawSseEvent[] {
    const decoder = createEventDecoder({ raw: true });
    const whole = typeof stream === "string" ? new TextEncoder().encode(stream) : stream;
    const events: RawSseEvent[] = [];
    let at = 0;
    for (const cut of [...cuts, whole.length]) {
      events.push(...decoder.push(whole.subarray(at, cut)));
      at = cut;
    }
    return [...events, ...decoder.end()];
  }
  const text = (bytes: Uint8Array) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  const concat = (parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));

  it("gives each event the bytes it came as, comments and data-less blocks before it included", () => {
    const stream = ': keep-alive\n\ndata: {"a":"é"}\n\nevent: lonely\n\nid: 7\r\ndata: b\r\n\r\ndata: [DONE]\n\n';
    const events = decodeRaw(stream, []);
    expect(events.map(({ raw, ...event }) => event)).toEqual([{ data: '{"a":"é"}' }, { id: "7", data: "b" }, { data: STREAM_DONE }]);
    expect(events.map((e) => text(e.raw))).toEqual([': keep-alive\n\ndata: {"a":"é"}\n\n', "event: lonely\n\nid: 7\r\ndata: b\r\n\r\n", "data: [DONE]\n\n"]);
  });

  it("splits the stream into the same raw pieces wherever it is cut, so passing them on passes on the stream byte for byte", () => {
    const stream = '\uFEFFdata: 1\n\n: ping\n\ndata: {"t":"日本 🌏"}\r\n\r\nevent: receipt\rdata: x\r\rdata: cut';
    const bytes = new TextEncoder().encode(stream);
    const whole = decodeRaw(bytes, []);
    expect(whole.map((e) => e.data)).toEqual(["1", '{"t":"日本 🌏"}', "x"]);
    // Everything but the event the end of the stream cut off.
    expect(text(concat(whole.map((e) => e.raw)))).toBe(stream.slice(0, stream.indexOf("data: cut")));
    expect(whole[0]!.raw.subarray(0, 3)).toEqual(new Uint8Array([0xef, 0xbb, 0xbf])); // the byte-order mark is passed on too
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 8 }), (cuts) => {
        expect(decodeRaw(bytes, cuts.sort((a, b) => a - b))).toEqual(whole);
      }),
    );
  });

  it("passes bytes that are not UTF-8 on as they came", () => {
    const bytes = new Uint8Array([...new TextEncoder().encode("data: "), 0xff, 0xc3, ...new TextEncoder().encode("\n\n")]);
    const [event] = decodeRaw(bytes, [7]);
    expect(event!.data).toBe("\uFFFD\uFFFD");
    expect(event!.raw).toEqual(bytes);
  });

  it("keeps a surrogate pair cut between two strings whole", () => {
    const decoder = createEventDecoder({ raw: true });
    const stream = "data: 🌏\n\n";
    expect(decoder.push(stream.slice(0, 7))).toEqual([]);
    const [event] = decoder.push(stream.slice(7));
    expect(event!.data).toBe("🌏");
    expect(text(event!.raw)).toBe(stream);
  });
});

describe("readEvents", () => {
  it("yields each event of a byte stream", async () => {
    async function* body() {
      yield new TextEncoder().encode("data: 1\n\nda");
      yield "ta: 2\n\n";
    }
    const got: SseEvent[] = [];
    for await (const event of readEvents(body())) got.push(event);
    expect(got).toEqual([{ data: "1" }, { data: "2" }]);
  });

  it("yields the data of an OpenAI-style stream, [DONE] included, a character cut between reads kept whole", async () => {
    const bytes = new TextEncoder().encode('data: {"t":"日本"}\n\n: keep-alive\n\ndata: [DONE]\n\ndata: unfinished');
    async function* body() {
      yield bytes.subarray(0, 14);
      yield bytes.subarray(14);
    }
    const got: string[] = [];
    for await (const event of readEvents(body())) got.push(event.data);
    expect(got).toEqual(['{"t":"日本"}', STREAM_DONE]);
  });
});

describe("the decoder's memory bound", () => {
  it("refuses a sender that never ends a line, an event or a run of comments", () => {
    const limit = 1_000;
    const endlessLine = createEventDecoder({ maxEventBytes: limit });
    expect(() => endlessLine.push("data: " + "x".repeat(limit))).toThrow(/without ending an event/);
    const endlessEvent = createEventDecoder({ maxEventBytes: limit });
    expect(() => {
      for (let i = 0; i < 200; i++) endlessEvent.push("data: xxxxxx\n");
    }).toThrow(expect.objectContaining({ code: "event_too_large" }));
    const endlessComments = createEventDecoder({ raw: true, maxEventBytes: limit });
    expect(() => {
      for (let i = 0; i < 200; i++) endlessComments.push(": keep-alive\n\n");
    }).toThrow(expect.objectContaining({ code: "event_too_large" }));
  });

  it("keeps decoding events under the bound however many arrive", () => {
    const decoder = createEventDecoder({ raw: true, maxEventBytes: 100 });
    let count = 0;
    for (let i = 0; i < 1_000; i++) count += decoder.push(`data: {"n":${i}}\n\n`).length;
    expect(count).toBe(1_000);
  });
});
