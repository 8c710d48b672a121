import { describe, expect, it } from "vitest";
import { readSseData } from "./readSseData.ts";

async function collect(chunks: (string | Uint8Array)[]) {
  async function* body() {
    for (const c of chunks) yield typeof c === "string" ? new TextEncoder().encode(c) : c;
  }
  const out: string[] = [];
  for await (const data of readSseData(body())) out.push(data);
  return out;
}

describe("readSseData", () => {
  it("yields each event's data once the event is complete, whatever the chunking", async () => {
    const stream = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    const whole = await collect([stream]);
    expect(whole).toEqual(['{"a":1}', '{"b":2}', "[DONE]"]);
    // Byte by byte gives the same events.
    expect(await collect([...stream].map((c) => c))).toEqual(whole);
  });

  it("keeps a multi-byte character split across chunks whole", async () => {
    const bytes = new TextEncoder().encode('data: {"t":"日本"}\n\n');
    expect(await collect([bytes.slice(0, 14), bytes.slice(14)])).toEqual(['{"t":"日本"}']);
  });

  it("skips comments and events without data, and drops an event the stream cut short", async () => {
    expect(await collect([": keep-alive\n\n", "event: ping\nid: 3\n\n", "id: 4\ndata: x\n\n", "data: unfinished"])).toEqual(["x"]);
  });
});
