import type { GotongSummary } from "../createChatSink.ts";
import type { ResponsesRequest } from "./toChatRequest.ts";

/** An output text part of a message. */
export type OutputText = { type: "output_text"; text: string; annotations: never[]; logprobs: never[] };

/** An item of a response's `output`: an assistant message, or a call of one of the request's functions. */
export type OutputItem =
  | { id: string; type: "message"; status: ItemStatus; role: "assistant"; content: OutputText[] }
  | { id: string; type: "function_call"; status: ItemStatus; call_id: string; name: string; arguments: string };

export type ItemStatus = "in_progress" | "completed" | "incomplete";

/** Token counts in the Responses API's shape. */
export type ResponseUsage = {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
};

/** What differs between the states of one response. */
export type ResponseState = {
  status: "in_progress" | "completed" | "incomplete" | "failed";
  output: OutputItem[];
  usage?: ResponseUsage;
  error?: { code: string; message: string };
  /** Gotong's summary of the paid request, once its receipt is accepted. */
  gotong?: GotongSummary;
};

/** Usage from an accepted receipt's counts: what the client is billed for is what it is told it used. */
export function usageOf(summary: GotongSummary): ResponseUsage {
  return {
    input_tokens: summary.inputTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: summary.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: summary.inputTokens + summary.outputTokens,
  };
}

/**
 * A Responses API `response` object: the request's settings echoed as the API does, plus the
 * state given. Nothing is stored (`store: false`), whatever the request asked.
 *
 * @param request The Responses request it answers.
 * @param id The response's id (`resp_…`).
 * @param createdAt Unix seconds.
 * @param state Status, output, usage, error and Gotong's summary.
 */
export function responseObject(request: ResponsesRequest, id: string, createdAt: number, state: ResponseState): Record<string, unknown> {
  const text = request.text as { format?: unknown } | undefined;
  return {
    id,
    object: "response",
    created_at: createdAt,
    status: state.status,
    ...(state.status === "completed" ? { completed_at: Math.floor(Date.now() / 1000) } : {}),
    background: false,
    error: state.error ?? null,
    incomplete_details: state.status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: null,
    model: request.model,
    output: state.output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: false,
    temperature: request.temperature ?? 1,
    text: { format: text?.format ?? { type: "text" } },
    tool_choice: request.tool_choice ?? "auto",
    tools: request.tools ?? [],
    top_logprobs: 0,
    top_p: request.top_p ?? 1,
    truncation: "disabled",
    usage: state.usage ?? null,
    user: request.user ?? null,
    metadata: request.metadata ?? {},
    ...(state.gotong ? { gotong: state.gotong } : {}),
  };
}
