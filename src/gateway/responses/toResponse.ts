import { randomBytes } from "node:crypto";
import type { GotongSummary } from "../createChatSink.ts";
import { responseObject, usageOf, type ItemStatus, type OutputItem } from "./responseObject.ts";
import type { ResponsesRequest } from "./toChatRequest.ts";

/** A response item id: a prefix and random hex, as the API's ids look. */
export function itemId(prefix: "msg" | "fc"): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}

type ChatCompletion = {
  choices?: { message?: { content?: unknown; tool_calls?: { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[] }; finish_reason?: unknown }[];
};

/**
 * A chat completion, paid for and its receipt accepted, as a Responses API `response`: its text as
 * a `message` item with one `output_text` part, each tool call as a `function_call` item, usage
 * from the receipt, and `incomplete` when it stopped at its token limit.
 *
 * @param completion The provider's chat completion.
 * @param request The Responses request it answers.
 * @param id The response's id.
 * @param createdAt Unix seconds.
 * @param summary Gotong's summary of the accepted receipt.
 */
export function toResponse(completion: ChatCompletion, request: ResponsesRequest, id: string, createdAt: number, summary: GotongSummary): Record<string, unknown> {
  const choice = completion.choices?.[0];
  const incomplete = choice?.finish_reason === "length";
  const itemStatus: ItemStatus = incomplete ? "incomplete" : "completed";
  const output: OutputItem[] = [];
  const content = choice?.message?.content;
  const calls = Array.isArray(choice?.message?.tool_calls) ? choice.message.tool_calls : [];
  if (typeof content === "string" && (content !== "" || calls.length === 0)) {
    output.push({ id: itemId("msg"), type: "message", status: itemStatus, role: "assistant", content: [{ type: "output_text", text: content, annotations: [], logprobs: [] }] });
  }
  for (const call of calls) {
    output.push({ id: itemId("fc"), type: "function_call", status: itemStatus, call_id: String(call.id ?? ""), name: String(call.function?.name ?? ""), arguments: String(call.function?.arguments ?? "") });
  }
  return responseObject(request, id, createdAt, { status: incomplete ? "incomplete" : "completed", output, usage: usageOf(summary), gotong: summary });
}
