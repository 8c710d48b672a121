import { GotongError } from "../common/errors.ts";
import type { ChatMessage, GenerationRequest, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from "./generationRequest.ts";

/** Most choices one request may ask for (`n`): each is generated in turn in the request's slot. */
export const MAX_CHOICES = 8;
/** Most alternatives per token a chat request may ask for (`top_logprobs`), as the OpenAI API allows. */
export const MAX_TOP_LOGPROBS = 20;
/** Most alternatives per token a completion request may ask for (`logprobs`), as the OpenAI API allows. */
export const MAX_COMPLETION_LOGPROBS = 5;

/**
 * Parameters accepted only with the value that turns them off, which is what many clients send by
 * default (`store: false`, `metadata`…). Any other value asks for something not served here and is
 * refused by name.
 */
const OFF_KEYS = ["store", "metadata"] as const;

/** Every parameter a chat request may carry (the README's API table lists each; a test checks they agree). */
export const CHAT_PARAMETERS: ReadonlySet<string> = new Set([
  "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed", "stop",
  "stream", "stream_options", "n", "user", "presence_penalty", "frequency_penalty", "response_format", "tools", "tool_choice", "parallel_tool_calls", "logprobs", "top_logprobs", ...OFF_KEYS,
]);
/** Every parameter a completion request may carry. */
export const COMPLETION_PARAMETERS: ReadonlySet<string> = new Set([
  "model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed", "stop", "stream", "stream_options", "n",
  "user", "presence_penalty", "frequency_penalty", "echo", "logprobs", ...OFF_KEYS,
]);

function refuseUnlessOff(body: Record<string, unknown>): void {
  const off: Record<(typeof OFF_KEYS)[number], (v: unknown) => boolean> = {
    // Nothing is stored anyway (privacy); metadata only labels what would be stored.
    store: (v) => v === false,
    metadata: (v) => typeof v === "object",
  };
  for (const key of OFF_KEYS) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (!off[key](value)) {
      throw bad(`"${key}": ${JSON.stringify(value)} is not supported by this provider`, key, "Send it with its default (off) value or leave it out; Gotong refuses what it cannot honour instead of ignoring it.");
    }
  }
}

function bad(message: string, param: string, hint?: string): GotongError {
  return new GotongError(message, { code: "invalid_parameter", status: 400, hint, param });
}

function numberIn(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw bad(`"${key}" must be a number from ${min} to ${max}`, key);
  }
  return value;
}

function integerIn(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const value = numberIn(body, key, min, max);
  if (value !== undefined && !Number.isInteger(value)) throw bad(`"${key}" must be an integer`, key);
  return value;
}

/**
 * `logprobs` and `top_logprobs`: chat takes `logprobs: true` with 0–20 alternatives per token;
 * completions take `logprobs: N` (0–5). Undefined when not asked for (`false`, `null`, absent).
 */
function parseLogprobs(kind: "chat" | "completion", body: Record<string, unknown>): { top: number } | undefined {
  if (kind === "completion") {
    const top = integerIn(body, "logprobs", 0, MAX_COMPLETION_LOGPROBS);
    return top === undefined ? undefined : { top };
  }
  if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== "boolean") throw bad(`"logprobs" must be true or false`, "logprobs");
  const top = integerIn(body, "top_logprobs", 0, MAX_TOP_LOGPROBS);
  if (body.logprobs !== true) {
    if (top) throw bad(`"top_logprobs" needs "logprobs": true`, "top_logprobs");
    return undefined;
  }
  return { top: top ?? 0 };
}

/**
 * Validates an OpenAI chat or completion request body into a GenerationRequest. A parameter this
 * provider cannot honour is refused with 400, never silently dropped.
 */
export function parseGenerationRequest(kind: "chat" | "completion", body: Record<string, unknown>): GenerationRequest & { stream: boolean; includeUsage: boolean } {
  const allowed = kind === "chat" ? CHAT_PARAMETERS : COMPLETION_PARAMETERS;
  for (const key of Object.keys(body)) {
    if (!allowed.has(key)) {
      throw bad(`The parameter "${key}" is not supported by this provider`, key, "Remove it from the request; Gotong refuses what it cannot honour instead of ignoring it.");
    }
  }
  const n = integerIn(body, "n", 1, MAX_CHOICES) ?? 1;
  refuseUnlessOff(body);
  if (body.echo !== undefined && body.echo !== null && body.echo !== false) throw bad(`"echo" is not supported`, "echo");
  if (body.stream !== undefined && typeof body.stream !== "boolean") throw bad(`"stream" must be true or false`, "stream");
  // No cap named: the answer may run until the context ends (see InferenceBackend.prepare).
  const maxTokens = integerIn(body, "max_completion_tokens", 1, 1_000_000) ?? integerIn(body, "max_tokens", 1, 1_000_000);
  const stop = parseStop(body.stop);
  const request: GenerationRequest & { stream: boolean; includeUsage: boolean } = {
    kind,
    maxTokens,
    n,
    logprobs: parseLogprobs(kind, body),
    temperature: numberIn(body, "temperature", 0, 2) ?? 1,
    topP: numberIn(body, "top_p", 0, 1),
    topK: integerIn(body, "top_k", 0, 1_000_000),
    minP: numberIn(body, "min_p", 0, 1),
    repeatPenalty: numberIn(body, "repeat_penalty", 0.5, 2),
    seed: integerIn(body, "seed", 0, 2 ** 32 - 1),
    presencePenalty: numberIn(body, "presence_penalty", -2, 2),
    frequencyPenalty: numberIn(body, "frequency_penalty", -2, 2),
    stop,
    stream: body.stream === true,
    includeUsage: false,
  };
  if (body.stream_options !== undefined && body.stream_options !== null) {
    const options = body.stream_options as Record<string, unknown>;
    if (typeof options !== "object") throw bad(`"stream_options" must be an object`, "stream_options");
    request.includeUsage = options.include_usage === true;
  }
  if (kind === "chat") request.responseFormat = parseResponseFormat(body.response_format);
  if (kind === "chat") {
    request.tools = parseTools(body.tools);
    request.toolChoice = parseToolChoice(body.tool_choice, request.tools);
    if (body.parallel_tool_calls !== undefined && body.parallel_tool_calls !== null && typeof body.parallel_tool_calls !== "boolean") {
      throw bad(`"parallel_tool_calls" must be true or false`, "parallel_tool_calls");
    }
    if (request.tools && request.responseFormat) throw bad(`"tools" and a JSON "response_format" cannot be combined here`, "response_format");
    if (request.tools && request.toolChoice !== "none" && request.logprobs) throw bad(`"logprobs" cannot be combined with "tools" here`, "logprobs", "Ask for logprobs without tools, or with \"tool_choice\": \"none\".");
  }
  if (kind === "chat") request.messages = parseMessages(body.messages);
  else request.prompt = parsePrompt(body.prompt);
  return request;
}

/** `response_format`: text (the default), `json_object`, or `json_schema` with `{ name, schema, strict? }`. */
function parseResponseFormat(value: unknown): ResponseFormat | undefined {
  if (value === undefined || value === null) return undefined;
  const format = value as Record<string, unknown>;
  if (typeof value !== "object" || Array.isArray(value)) throw bad(`"response_format" must be an object`, "response_format");
  if (format.type === "text") return undefined;
  if (format.type === "json_object") return { kind: "json_object", raw: format };
  if (format.type === "json_schema") {
    const spec = format.json_schema as Record<string, unknown> | undefined;
    if (typeof spec !== "object" || spec === null || typeof spec.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) {
      throw bad(`"response_format.json_schema" needs a "name" of letters, digits, _ or - (at most 64)`, "response_format");
    }
    if (typeof spec.schema !== "object" || spec.schema === null || Array.isArray(spec.schema)) throw bad(`"response_format.json_schema.schema" must be a JSON Schema object`, "response_format");
    return { kind: "json_schema", name: spec.name, schema: spec.schema as Record<string, unknown>, raw: format };
  }
  throw bad(`"response_format.type" must be "text", "json_object" or "json_schema"`, "response_format");
}

/** `tools`: function definitions (`{type: "function", function: {name, description?, parameters?}}`); an empty list is none. */
function parseTools(value: unknown): ToolDefinition[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > 128) throw bad(`"tools" must be an array of at most 128 functions`, "tools");
  if (value.length === 0) return undefined;
  return value.map((tool, i) => {
    const t = tool as { type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } };
    if (t?.type !== "function" || typeof t.function !== "object" || t.function === null) throw bad(`tools[${i}] must be {"type": "function", "function": {...}}`, "tools");
    const { name, description, parameters } = t.function;
    if (typeof name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(name)) throw bad(`tools[${i}].function.name must be letters, digits, _ or - (at most 64)`, "tools");
    if (description !== undefined && typeof description !== "string") throw bad(`tools[${i}].function.description must be a string`, "tools");
    if (parameters !== undefined && (typeof parameters !== "object" || parameters === null || Array.isArray(parameters))) throw bad(`tools[${i}].function.parameters must be a JSON Schema object`, "tools");
    return { name, description, parameters: (parameters as Record<string, unknown>) ?? { type: "object", properties: {} } };
  });
}

/** `tool_choice`: "none", "auto" (the default with tools), "required", or `{type: "function", function: {name}}`. */
function parseToolChoice(value: unknown, tools: ToolDefinition[] | undefined): ToolChoice | undefined {
  if (value === undefined || value === null) return tools ? "auto" : undefined;
  if (value === "none") return "none";
  if (value === "auto" || value === "required") {
    if (!tools && value === "required") throw bad(`"tool_choice": "required" needs "tools"`, "tool_choice");
    return tools ? value : undefined;
  }
  const named = value as { type?: unknown; function?: { name?: unknown } };
  if (named?.type === "function" && typeof named.function?.name === "string") {
    if (!tools?.some((t) => t.name === named.function!.name)) throw bad(`"tool_choice" names "${named.function.name}", which is not in "tools"`, "tool_choice");
    return { name: named.function.name };
  }
  throw bad(`"tool_choice" must be "none", "auto", "required" or {"type": "function", "function": {"name": …}}`, "tool_choice");
}

function parseStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== "string" || s.length === 0)) {
    throw bad(`"stop" must be a string or up to 4 non-empty strings`, "stop");
  }
  return list as string[];
}

function parsePrompt(value: unknown): string {
  const prompt = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof prompt !== "string") throw bad(`"prompt" must be a string`, "prompt");
  if (prompt.length === 0) throw bad(`"prompt" is empty`, "prompt");
  return prompt;
}

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw bad(`"messages" must be a non-empty array`, "messages");
  return value.map((m, i) => {
    if (typeof m !== "object" || m === null) throw bad(`messages[${i}] must be an object`, "messages");
    const { role, content, tool_calls: toolCalls, tool_call_id: toolCallId } = m as Record<string, unknown>;
    if (role !== "system" && role !== "user" && role !== "assistant" && role !== "developer" && role !== "tool") {
      throw bad(`messages[${i}].role "${String(role)}" is not supported (system, developer, user, assistant or tool)`, "messages");
    }
    if (role === "tool") {
      if (typeof toolCallId !== "string" || !toolCallId) throw bad(`messages[${i}] (a tool result) needs "tool_call_id"`, "messages");
      return { role: "tool", content: typeof content === "string" ? content : textParts(content, i), toolCallId };
    }
    if (role === "assistant" && toolCalls !== undefined && toolCalls !== null) {
      return { role: "assistant", content: content === null || content === undefined ? "" : typeof content === "string" ? content : textParts(content, i), toolCalls: parseToolCalls(toolCalls, i) };
    }
    const text = typeof content === "string" ? content : textParts(content, i);
    return { role: role === "developer" ? "system" : role, content: text };
  });
}

function parseToolCalls(value: unknown, i: number): ToolCall[] {
  if (!Array.isArray(value)) throw bad(`messages[${i}].tool_calls must be an array`, "messages");
  return value.map((call, j) => {
    const c = call as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };
    if (typeof c?.id !== "string" || c.type !== "function" || typeof c.function?.name !== "string" || typeof c.function.arguments !== "string") {
      throw bad(`messages[${i}].tool_calls[${j}] must be {"id", "type": "function", "function": {"name", "arguments"}}`, "messages");
    }
    return { id: c.id, name: c.function.name, arguments: c.function.arguments };
  });
}

function textParts(content: unknown, i: number): string {
  if (!Array.isArray(content)) throw bad(`messages[${i}].content must be a string or an array of text parts`, "messages");
  return content
    .map((part) => {
      const p = part as Record<string, unknown>;
      if (p?.type !== "text" || typeof p.text !== "string") throw bad(`messages[${i}] has a non-text part; this model takes text only`, "messages");
      return p.text;
    })
    .join("");
}
