import { describe, expect, it } from "vitest";
import type { ChatChunk, GotongSummary } from "../createChatSink.ts";
import { createResponseEvents, type ResponseEvent } from "./createResponseEvents.ts";
import { toResponse } from "./toResponse.ts";

const summary: GotongSummary = {
  receiptId: `0x${"ab".repeat(32)}`,
  cost: "1234",
  inputTokens: 11,
  outputTokens: 7,
  provider: `0x${"12".repeat(20)}`,
  modelId: "1",
  weightsHash: `0x${"cd".repeat(32)}`,
};
const request = { model: "m", input: "Hi", instructions: "Be brief.", max_output_tokens: 40, metadata: { a: "b" } };

const text = (content: string): ChatChunk => ({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const finish = (reason: string): ChatChunk => ({ choices: [{ index: 0, delta: {}, finish_reason: reason }], gotong: {} });

describe("createResponseEvents", () => {
  it("streams text as the API does: created, in_progress, item and part added, deltas, dones, completed", () => {
    const stream = createResponseEvents(request, "resp_1", 100, { obfuscate: false });
    const events: ResponseEvent[] = [
      ...stream.start(),
      ...stream.chunks([{ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }, text("Once")]),
      ...stream.chunks([text(" upon"), text(" a time")]),
      ...stream.finish(finish("stop"), summary),
    ];
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const created = events[0]!.response as Record<string, unknown>;
    expect(created).toMatchObject({ id: "resp_1", object: "response", created_at: 100, status: "in_progress", output: [], model: "m", instructions: "Be brief.", max_output_tokens: 40, store: false, metadata: { a: "b" } });
    const added = events[2]!;
    const item = added.item as { id: string; type: string; status: string; content: unknown[] };
    expect(item).toMatchObject({ type: "message", status: "in_progress", role: "assistant", content: [] });
    expect(item.id).toMatch(/^msg_/);
    expect(events[3]).toMatchObject({ item_id: item.id, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
    const deltas = events.filter((e) => e.type === "response.output_text.delta");
    expect(deltas.map((d) => d.delta).join("")).toBe("Once upon a time");
    for (const d of deltas) expect(d).toMatchObject({ item_id: item.id, output_index: 0, content_index: 0 });
    expect(deltas[0]).not.toHaveProperty("obfuscation");
    expect(events[7]).toMatchObject({ item_id: item.id, text: "Once upon a time" });
    expect(events[8]).toMatchObject({ part: { type: "output_text", text: "Once upon a time" } });
    expect(events[9]).toMatchObject({ output_index: 0, item: { id: item.id, status: "completed", content: [{ type: "output_text", text: "Once upon a time" }] } });
    const completed = events[10]!.response as Record<string, unknown>;
    expect(completed).toMatchObject({
      status: "completed",
      incomplete_details: null,
      error: null,
      output: [{ id: item.id, type: "message", status: "completed", content: [{ text: "Once upon a time" }] }],
      usage: { input_tokens: 11, output_tokens: 7, total_tokens: 18 },
      gotong: summary,
    });
  });

  it("streams a tool call as a function_call item with argument deltas", () => {
    const stream = createResponseEvents(request, "resp_1", 100, { obfuscate: false });
    const call = (d: unknown): ChatChunk => ({ choices: [{ index: 0, delta: { tool_calls: [d] }, finish_reason: null }] });
    const events = [
      ...stream.start(),
      ...stream.chunks([call({ index: 0, id: "call_x", type: "function", function: { name: "get_weather", arguments: "" } })]),
      ...stream.chunks([call({ index: 0, function: { arguments: '{"city":' } }), call({ index: 0, function: { arguments: '"Paris"}' } })]),
      ...stream.finish(finish("tool_calls"), summary),
    ];
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const item = events[2]!.item as { id: string };
    expect(events[2]!.item).toMatchObject({ type: "function_call", status: "in_progress", call_id: "call_x", name: "get_weather", arguments: "" });
    expect(item.id).toMatch(/^fc_/);
    expect(events[5]).toMatchObject({ item_id: item.id, output_index: 0, name: "get_weather", arguments: '{"city":"Paris"}' });
    expect(events[6]!.item).toMatchObject({ status: "completed", arguments: '{"city":"Paris"}' });
    expect((events[7]!.response as { output: unknown[] }).output).toEqual([{ id: item.id, type: "function_call", status: "completed", call_id: "call_x", name: "get_weather", arguments: '{"city":"Paris"}' }]);
  });

  it("ends a response cut by its token limit as incomplete", () => {
    const stream = createResponseEvents(request, "resp_1", 100, { obfuscate: false });
    const events = [...stream.start(), ...stream.chunks([text("Once")]), ...stream.finish(finish("length"), summary)];
    const last = events.at(-1)!;
    expect(last.type).toBe("response.incomplete");
    expect(last.response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output: [{ status: "incomplete" }] });
    expect(events.find((e) => e.type === "response.output_item.done")!.item).toMatchObject({ status: "incomplete" });
  });

  it("fails with an error event and response.failed, and nothing after that", () => {
    const stream = createResponseEvents(request, "resp_1", 100, { obfuscate: false });
    stream.start();
    stream.chunks([text("Once")]);
    const failed = stream.fail({ code: "provider_stream_cut", message: "Provider stopped mid-stream" });
    expect(failed.map((e) => e.type)).toEqual(["error", "response.failed"]);
    expect(failed[0]).toMatchObject({ code: "provider_stream_cut", message: "Provider stopped mid-stream", param: null, sequence_number: 5 });
    expect(failed[1]!.response).toMatchObject({ status: "failed", error: { code: "server_error", message: "Provider stopped mid-stream" }, output: [{ status: "incomplete", content: [{ text: "Once" }] }] });
    expect(stream.ended).toBe(true);
    expect(stream.chunks([text("more")])).toEqual([]);
    expect(stream.finish(finish("stop"), summary)).toEqual([]);
  });

  it("pads every delta to the same size bucket when obfuscating, so sizes do not tell token lengths", () => {
    const stream = createResponseEvents(request, "resp_1", 100, { obfuscate: true });
    stream.start();
    const sizes = new Set<number>();
    for (let n = 1; n <= 20; n++) {
      const [delta] = stream.chunks([text("x".repeat(n))]).filter((e) => e.type === "response.output_text.delta");
      expect(typeof delta!.obfuscation).toBe("string");
      sizes.add(Buffer.byteLength(JSON.stringify(delta!.delta)) + (delta!.obfuscation as string).length);
    }
    expect(sizes.size).toBe(1);
  });
});

describe("toResponse", () => {
  it("turns a chat completion into a response with a message item and the receipt's usage", () => {
    const completion = { choices: [{ index: 0, message: { role: "assistant", content: "Once upon a time" }, finish_reason: "stop" }], usage: { prompt_tokens: 99, completion_tokens: 99 } };
    const response = toResponse(completion, request, "resp_1", 100, summary);
    expect(response).toMatchObject({
      id: "resp_1",
      object: "response",
      status: "completed",
      output: [{ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Once upon a time", annotations: [] }] }],
      usage: { input_tokens: 11, output_tokens: 7, total_tokens: 18 },
      gotong: summary,
    });
  });

  it("turns tool calls into function_call items, and a length stop into incomplete", () => {
    const completion = {
      choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [{ id: "call_x", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }, finish_reason: "tool_calls" }],
    };
    const response = toResponse(completion, request, "resp_1", 100, summary);
    expect(response.output).toEqual([{ id: expect.stringMatching(/^fc_/), type: "function_call", status: "completed", call_id: "call_x", name: "f", arguments: '{"a":1}' }]);
    const cut = toResponse({ choices: [{ message: { content: "Once" }, finish_reason: "length" }] }, request, "resp_1", 100, summary);
    expect(cut).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output: [{ status: "incomplete" }] });
  });
});
