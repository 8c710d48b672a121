/** One Server-Sent Event: its `event` name (default "message"), `id` and `data` lines joined. */
export type SseEvent = { event: string; id: string | undefined; data: string };

/**
 * An incremental SSE parser (the parts of the WHATWG rules Gotong uses): feed text as it arrives,
 * get complete events. Comment lines (`: keep-alive`) are skipped.
 *
 * @example const parser = createSseParser(); for (const e of parser.push(chunk)) handle(e);
 */
export function createSseParser() {
  let buffer = "";
  return {
    push(text: string): SseEvent[] {
      // A CR at the very end may be the first half of a CRLF cut by the network: keep it for later.
      const raw = buffer + text;
      const held = raw.endsWith("\r") ? "\r" : "";
      buffer = (held ? raw.slice(0, -1) : raw).replace(/\r\n?/g, "\n");
      const events: SseEvent[] = [];
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line === "" || line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "event") event = value;
          else if (field === "id") id = value;
          else if (field === "data") data.push(value);
        }
        if (data.length > 0 || event !== "message") events.push({ event, id, data: data.join("\n") });
      }
      buffer += held;
      return events;
    },
    /** What is left unparsed (an event cut off by the end of the stream). */
    rest: () => buffer,
  };
}
