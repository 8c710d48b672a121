import { randomBytes } from "node:crypto";
import type { ChatChunk, GotongSummary } from "../createChatSink.ts";
import { responseObject, usageOf, type ItemStatus, type OutputItem } from "./responseObject.ts";
import type { ResponsesRequest } from "./toChatRequest.ts";
import { itemId } from "./toResponse.ts";

/** One streamed Responses API event: its `type`, its place in the stream, and its fields. */
export type ResponseEvent = Record<string, unknown> & { type: string; sequence_number: number };

/** Turns a chat-completions stream into the Responses API's events, one provider chunk at a time. */
export type ResponseEvents = {
  /** `response.created` and `response.in_progress`. */
  start(): ResponseEvent[];
  /** The events for provider chunks: items opened as text or a call begins, and their deltas. */
  chunks(chunks: ChatChunk[]): ResponseEvent[];
  /** The final chunk, its receipt accepted: the open items done, then `response.completed` (or `.incomplete`). */
  finish(chunk: ChatChunk, summary: GotongSummary): ResponseEvent[];
  /** The stream failed after it began: an `error` event, then `response.failed` with the output so far. */
  fail(error: { code: string; message: string }): ResponseEvent[];
  /** True once a terminal event (completed, incomplete, failed) has been made. */
  readonly ended: boolean;
};

/** Delta events are padded to a multiple of this many bytes (stream obfuscation), so their sizes do not give away each token's length. */
const OBFUSCATION_BUCKET = 32;
const PAD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Random characters that bring `delta`'s encoded size up to the next multiple of the bucket. */
function obfuscationFor(delta: string): string {
  const size = Buffer.byteLength(JSON.stringify(delta));
  const length = OBFUSCATION_BUCKET - (size % OBFUSCATION_BUCKET);
  const bytes = randomBytes(length);
  let pad = "";
  for (const b of bytes) pad += PAD_ALPHABET[b & 63];
  return pad;
}

type Open = { index: number; item: OutputItem };
type ToolCallDelta = { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } };

/**
 * The Responses API's streamed events for one response, built from the chat-completions chunks a
 * provider streams: a `message` item with one `output_text` part for text, a `function_call` item
 * per tool call, each opened (`output_item.added`, `content_part.added`), grown by deltas and
 * closed (`….done`) as the API does, every event numbered by `sequence_number`.
 *
 * @param request The Responses request the stream answers.
 * @param id The response's id.
 * @param createdAt Unix seconds.
 * @param options `obfuscate` adds the API's `obfuscation` padding to delta events (its default).
 */
export function createResponseEvents(request: ResponsesRequest, id: string, createdAt: number, options: { obfuscate: boolean }): ResponseEvents {
  let sequence = 0;
  let ended = false;
  const output: OutputItem[] = [];
  let message: Open | undefined;
  const calls = new Map<number, Open>(); // open calls, by their index in the chat stream
  const event = (type: string, fields: Record<string, unknown>): ResponseEvent => ({ type, sequence_number: sequence++, ...fields });
  const response = (state: Parameters<typeof responseObject>[3]) => responseObject(request, id, createdAt, state);

  const closeMessage = (status: ItemStatus, events: ResponseEvent[]) => {
    if (!message) return;
    const { index, item } = message;
    message = undefined;
    if (item.type !== "message") return;
    const part = item.content[0]!;
    item.status = status;
    events.push(event("response.output_text.done", { item_id: item.id, output_index: index, content_index: 0, text: part.text, logprobs: [] }));
    events.push(event("response.content_part.done", { item_id: item.id, output_index: index, content_index: 0, part: { ...part } }));
    events.push(event("response.output_item.done", { output_index: index, item: structuredClone(item) }));
  };
  const closeCalls = (status: ItemStatus, events: ResponseEvent[]) => {
    for (const { index, item } of calls.values()) {
      if (item.type !== "function_call") continue;
      item.status = status;
      events.push(event("response.function_call_arguments.done", { item_id: item.id, output_index: index, name: item.name, arguments: item.arguments }));
      events.push(event("response.output_item.done", { output_index: index, item: structuredClone(item) }));
    }
    calls.clear();
  };
  const add = (item: OutputItem, events: ResponseEvent[]): Open => {
    const open = { index: output.length, item };
    output.push(item);
    events.push(event("response.output_item.added", { output_index: open.index, item: structuredClone(item) }));
    return open;
  };
  const delta = (type: string, fields: Record<string, unknown>, text: string) =>
    event(type, { ...fields, delta: text, ...(options.obfuscate ? { obfuscation: obfuscationFor(text) } : {}) });

  const onChunk = (chunk: ChatChunk, events: ResponseEvent[]) => {
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    const text = choice?.delta?.content;
    if (typeof text === "string" && text !== "") {
      closeCalls("completed", events);
      if (!message) {
        message = add({ id: itemId("msg"), type: "message", status: "in_progress", role: "assistant", content: [] }, events);
        const part = { type: "output_text" as const, text: "", annotations: [], logprobs: [] };
        (message.item as Extract<OutputItem, { type: "message" }>).content.push(part);
        events.push(event("response.content_part.added", { item_id: message.item.id, output_index: message.index, content_index: 0, part: { ...part } }));
      }
      const item = message.item as Extract<OutputItem, { type: "message" }>;
      item.content[0]!.text += text;
      events.push(delta("response.output_text.delta", { item_id: item.id, output_index: message.index, content_index: 0, logprobs: [] }, text));
    }
    const toolCalls = choice?.delta?.tool_calls;
    if (!Array.isArray(toolCalls)) return;
    for (const call of toolCalls as ToolCallDelta[]) {
      const key = typeof call.index === "number" ? call.index : 0;
      let open = calls.get(key);
      if (!open || typeof call.id === "string") {
        closeMessage("completed", events);
        if (open) closeCalls("completed", events); // a new call under an index in use: the old one is done
        open = add({ id: itemId("fc"), type: "function_call", status: "in_progress", call_id: String(call.id ?? ""), name: String(call.function?.name ?? ""), arguments: "" }, events);
        calls.set(key, open);
      }
      const args = call.function?.arguments;
      if (typeof args === "string" && args !== "" && open.item.type === "function_call") {
        open.item.arguments += args;
        events.push(delta("response.function_call_arguments.delta", { item_id: open.item.id, output_index: open.index }, args));
      }
    }
  };

  return {
    get ended() {
      return ended;
    },
    start() {
      const state = { status: "in_progress" as const, output: [] };
      return [event("response.created", { response: response(state) }), event("response.in_progress", { response: response(state) })];
    },
    chunks(chunks) {
      const events: ResponseEvent[] = [];
      if (!ended) for (const chunk of chunks) onChunk(chunk, events);
      return events;
    },
    finish(chunk, summary) {
      if (ended) return [];
      const events: ResponseEvent[] = [];
      onChunk(chunk, events);
      const incomplete = chunk.choices?.find((c) => (c.index ?? 0) === 0)?.finish_reason === "length";
      const status = incomplete ? "incomplete" : "completed";
      closeMessage(status, events);
      closeCalls(status, events);
      ended = true;
      events.push(event(incomplete ? "response.incomplete" : "response.completed", { response: response({ status, output, usage: usageOf(summary), gotong: summary }) }));
      return events;
    },
    fail(error) {
      if (ended) return [];
      ended = true;
      for (const item of output) if (item.status === "in_progress") item.status = "incomplete";
      return [
        event("error", { code: error.code, message: error.message, param: null }),
        event("response.failed", { response: response({ status: "failed", output, error: { code: "server_error", message: error.message } }) }),
      ];
    },
  };
}
