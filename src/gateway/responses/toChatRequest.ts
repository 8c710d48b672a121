import { GotongError, type GotongErrorCode } from "../../common/errors.ts";

/** A Responses API request body (`POST /v1/responses`), as the client sent it. */
export type ResponsesRequest = Record<string, unknown>;

/** A chat-completions request body, what a provider is paid to answer. */
export type ChatRequest = Record<string, unknown> & { model: string; messages: ChatMessage[] };

type ChatToolCall = { id: string; type: "function"; function: { name: string; arguments: string } };
type ChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

/**
 * Parameters a Responses request may carry, and whether each is taken as sent. The rest are
 * refused by name: Gotong refuses what it cannot honour instead of ignoring it.
 */
export const RESPONSES_PARAMETERS: ReadonlySet<string> = new Set([
  "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "stream", "stream_options", "metadata", "user", "store",
  "tools", "tool_choice", "parallel_tool_calls", "text", "previous_response_id", "conversation", "include", "reasoning", "truncation",
  "service_tier", "background", "top_logprobs", "prompt_cache_key", "safety_identifier", "provider",
]);

/** What to do instead of referring to a stored response or item. */
const NOT_STORED_HINT = "Gotong stores no prompt and no answer (privacy): send the whole conversation as \"input\" items each time (earlier answers as assistant messages, function_call and function_call_output items).";

function bad(message: string, param: string, hint?: string, code: GotongErrorCode = "invalid_parameter"): GotongError {
  return new GotongError(message, { code, status: 400, param, hint });
}

const isSet = (value: unknown) => value !== undefined && value !== null;

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * Translates a Responses API request into the chat-completions request a provider serves: the
 * `instructions` and `input` items become messages, flat function tools become chat tools,
 * `text.format` becomes `response_format`, `max_output_tokens` becomes `max_tokens`. What needs
 * state kept between requests (`previous_response_id`, `conversation`, `item_reference`,
 * `background`) or a tool run on OpenAI's servers is refused with a 400 that says why.
 *
 * @param request The Responses request body.
 * @returns The chat-completions body to pay a provider for.
 * @example toChatRequest({ model: "m", instructions: "Be brief.", input: "Hi" })
 * // { model: "m", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] }
 */
export function toChatRequest(request: ResponsesRequest): ChatRequest {
  for (const key of Object.keys(request)) {
    if (!RESPONSES_PARAMETERS.has(key)) throw bad(`The parameter "${key}" is not supported on Gotong's /v1/responses`, key, "Remove it from the request; Gotong refuses what it cannot honour instead of ignoring it.");
  }
  if (typeof request.model !== "string" || !request.model) throw bad(`"model" is required`, "model");
  refuseStatefulOptions(request);
  refuseUnlessOff(request);

  const messages: ChatMessage[] = [];
  if (isSet(request.instructions)) {
    if (typeof request.instructions !== "string") throw bad(`"instructions" must be a string`, "instructions");
    if (request.instructions) messages.push({ role: "system", content: request.instructions });
  }
  messages.push(...inputMessages(request.input));
  if (!messages.some((m) => m.role !== "system")) throw bad(`"input" is required: a string, or an array of input items`, "input");

  const chat: ChatRequest = { model: request.model, messages };
  if (isSet(request.stream)) {
    if (typeof request.stream !== "boolean") throw bad(`"stream" must be true or false`, "stream");
    if (request.stream) chat.stream = true;
  }
  if (isSet(request.max_output_tokens)) {
    const max = request.max_output_tokens;
    if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 1) throw bad(`"max_output_tokens" must be a positive integer`, "max_output_tokens");
    chat.max_tokens = max;
  }
  for (const key of ["temperature", "top_p"] as const) {
    if (!isSet(request[key])) continue;
    if (typeof request[key] !== "number") throw bad(`"${key}" must be a number`, key);
    chat[key] = request[key];
  }
  const tools = chatTools(request.tools);
  if (tools) chat.tools = tools;
  const toolChoice = chatToolChoice(request.tool_choice, chat);
  if (toolChoice !== undefined) chat.tool_choice = toolChoice;
  if (isSet(request.parallel_tool_calls)) {
    if (typeof request.parallel_tool_calls !== "boolean") throw bad(`"parallel_tool_calls" must be true or false`, "parallel_tool_calls");
    chat.parallel_tool_calls = request.parallel_tool_calls;
  }
  const format = responseFormat(request.text);
  if (format) chat.response_format = format;
  // OpenRouter's routing preferences are the gateway's to read, as on chat completions.
  if (isSet(request.provider)) chat.provider = request.provider;
  return chat;
}

/** What only a server that keeps conversations can do. */
function refuseStatefulOptions(request: ResponsesRequest): void {
  if (isSet(request.previous_response_id)) {
    throw bad(`"previous_response_id" is not supported: Gotong stores no responses, so there is no "${String(request.previous_response_id)}" to continue from`, "previous_response_id", NOT_STORED_HINT, "previous_response_not_found");
  }
  if (isSet(request.conversation)) throw bad(`"conversation" is not supported: Gotong stores no conversations`, "conversation", NOT_STORED_HINT);
  if (isSet(request.background) && request.background !== false) {
    throw bad(`"background": true is not supported: a background response is stored to be fetched later, and Gotong stores none`, "background", "Leave it out and keep the connection open, or stream with \"stream\": true.");
  }
  // Nothing is stored whether or not it is asked for (the response says "store": false); what a
  // stored response would allow later (previous_response_id, GET /v1/responses/{id}) is refused then.
  if (isSet(request.store) && typeof request.store !== "boolean") throw bad(`"store" must be true or false`, "store");
  if (isSet(request.metadata) && !object(request.metadata)) throw bad(`"metadata" must be an object of string values`, "metadata");
  if (isSet(request.user) && typeof request.user !== "string") throw bad(`"user" must be a string`, "user");
  for (const key of ["prompt_cache_key", "safety_identifier"] as const) {
    if (isSet(request[key]) && typeof request[key] !== "string") throw bad(`"${key}" must be a string`, key);
  }
}

/** Options accepted only with the value that turns them off (what SDKs send by default). */
function refuseUnlessOff(request: ResponsesRequest): void {
  const off = (key: string, ok: boolean, why: string, hint?: string) => {
    if (isSet(request[key]) && !ok) throw bad(`"${key}": ${JSON.stringify(request[key])} is not supported: ${why}`, key, hint ?? "Leave it out or send its default value.");
  };
  const include = request.include;
  off("include", Array.isArray(include) && include.length === 0, "there are no extra output fields to include here");
  const reasoning = object(request.reasoning);
  off("reasoning", reasoning !== undefined && Object.values(reasoning).every((v) => v === null || v === undefined), "the models served here do not reason in a separate channel");
  off("truncation", request.truncation === "disabled", `a prompt longer than the model's context is refused, not cut ("disabled", the default)`);
  off("service_tier", request.service_tier === "auto" || request.service_tier === "default", "there is one service tier");
  off("top_logprobs", request.top_logprobs === 0, "log probabilities are not served on /v1/responses yet", "Use /v1/chat/completions with \"logprobs\": true.");
  const streamOptions = request.stream_options;
  if (isSet(streamOptions)) {
    const options = object(streamOptions);
    if (!options || Object.keys(options).some((k) => k !== "include_obfuscation") || (isSet(options.include_obfuscation) && typeof options.include_obfuscation !== "boolean")) {
      throw bad(`"stream_options" takes only "include_obfuscation" (true or false)`, "stream_options");
    }
  }
}

/** `input`: a string (one user message) or a list of items, in order. */
function inputMessages(input: unknown): ChatMessage[] {
  if (!isSet(input)) return [];
  if (typeof input === "string") return input ? [{ role: "user", content: input }] : [];
  if (!Array.isArray(input)) throw bad(`"input" must be a string or an array of input items`, "input");
  const messages: ChatMessage[] = [];
  input.forEach((value, i) => {
    const item = object(value);
    const param = `input[${i}]`;
    if (!item) throw bad(`${param} must be an object`, param);
    const type = item.type ?? "message";
    if (type === "message") {
      messages.push(messageOf(item, param));
    } else if (type === "function_call") {
      const { call_id: callId, name, arguments: args } = item;
      if (typeof callId !== "string" || !callId || typeof name !== "string" || !name || typeof args !== "string") {
        throw bad(`${param} (a function_call) needs "call_id", "name" and "arguments" strings`, param);
      }
      const call: ChatToolCall = { id: callId, type: "function", function: { name, arguments: args } };
      // Calls made in one turn (and the text before them) are one assistant message, as in chat.
      const last = messages.at(-1);
      if (last?.role === "assistant") (last.tool_calls ??= []).push(call);
      else messages.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (type === "function_call_output") {
      if (typeof item.call_id !== "string" || !item.call_id) throw bad(`${param} (a function_call_output) needs "call_id"`, param);
      const output = typeof item.output === "string" ? item.output : textOf(item.output, `${param}.output`);
      messages.push({ role: "tool", tool_call_id: item.call_id, content: output });
    } else if (type === "item_reference") {
      throw bad(`${param} is an item_reference ("${String(item.id)}"), but Gotong stores no items to refer to`, param, `${NOT_STORED_HINT} With the Vercel AI SDK, set providerOptions: { openai: { store: false } } and it sends the items themselves.`, "item_not_found");
    } else {
      throw bad(`${param} has type "${String(type)}", which is not supported here (message, function_call and function_call_output are)`, param);
    }
  });
  return messages;
}

/** A message item: a role, and its content as a string or a list of text parts. */
function messageOf(item: Record<string, unknown>, param: string): ChatMessage {
  const role = item.role;
  if (role !== "user" && role !== "system" && role !== "developer" && role !== "assistant") {
    throw bad(`${param}.role "${String(role)}" is not supported (user, system, developer or assistant)`, `${param}.role`);
  }
  const content = typeof item.content === "string" ? item.content : textOf(item.content, `${param}.content`);
  if (role === "assistant") return { role, content };
  // A developer message is a system message for the models served here (the chat template has no other).
  return { role: role === "developer" ? "system" : role, content };
}

/** The text of a list of content parts; anything but text is refused, naming the part. */
function textOf(parts: unknown, param: string): string {
  if (!Array.isArray(parts)) throw bad(`${param} must be a string or an array of content parts`, param);
  return parts
    .map((value, j) => {
      const part = object(value);
      const type = part?.type;
      if ((type === "input_text" || type === "output_text" || type === "text") && typeof part!.text === "string") return part!.text;
      if (type === "refusal" && typeof part!.refusal === "string") return part!.refusal;
      throw bad(`${param}[${j}] has type "${String(type)}": the models served here take text only (input_text, output_text)`, `${param}[${j}]`);
    })
    .join("");
}

/** Flat function tools (`{type: "function", name, description, parameters, strict}`) as chat tools. */
function chatTools(value: unknown): Record<string, unknown>[] | undefined {
  if (!isSet(value)) return undefined;
  if (!Array.isArray(value)) throw bad(`"tools" must be an array`, "tools");
  if (value.length === 0) return undefined;
  return value.map((v, i) => {
    const tool = object(v);
    const param = `tools[${i}]`;
    if (!tool) throw bad(`${param} must be an object`, param);
    if (tool.type !== "function") {
      throw bad(`The tool "${String(tool.type)}" (${param}) is not available on Gotong: it runs on OpenAI's own servers`, param, `Only "function" tools are served: the model calls your function and your code runs it. Describe what "${String(tool.type)}" does as a function and run it yourself.`, "tool_not_supported");
    }
    if (typeof tool.name !== "string" || !tool.name) throw bad(`${param}.name is required`, `${param}.name`);
    if (isSet(tool.description) && typeof tool.description !== "string") throw bad(`${param}.description must be a string`, `${param}.description`);
    if (isSet(tool.parameters) && !object(tool.parameters)) throw bad(`${param}.parameters must be a JSON Schema object`, `${param}.parameters`);
    if (isSet(tool.strict) && typeof tool.strict !== "boolean") throw bad(`${param}.strict must be true or false`, `${param}.strict`);
    const fn: Record<string, unknown> = { name: tool.name };
    if (isSet(tool.description)) fn.description = tool.description;
    if (isSet(tool.parameters)) fn.parameters = tool.parameters;
    if (isSet(tool.strict)) fn.strict = tool.strict;
    return { type: "function", function: fn };
  });
}

/**
 * `tool_choice`: "none", "auto", "required", `{type: "function", name}`, or `{type: "allowed_tools",
 * mode, tools}` (the model sees only the allowed functions). Other kinds name built-in tools.
 */
function chatToolChoice(value: unknown, chat: ChatRequest): unknown {
  if (!isSet(value)) return undefined;
  if (value === "none" || value === "auto" || value === "required") return value;
  const choice = object(value);
  if (choice?.type === "function") {
    if (typeof choice.name !== "string" || !choice.name) throw bad(`"tool_choice" of type "function" needs "name"`, "tool_choice");
    return { type: "function", function: { name: choice.name } };
  }
  if (choice?.type === "allowed_tools") {
    const mode = choice.mode;
    if ((mode !== "auto" && mode !== "required") || !Array.isArray(choice.tools)) throw bad(`"tool_choice" of type "allowed_tools" needs "mode" ("auto" or "required") and "tools"`, "tool_choice");
    const names = new Set(
      choice.tools.map((t, i) => {
        const tool = object(t);
        if (tool?.type !== "function" || typeof tool.name !== "string") throw bad(`tool_choice.tools[${i}] must be {"type": "function", "name": …}`, "tool_choice");
        return tool.name;
      }),
    );
    const tools = (chat.tools as { function: { name: string } }[] | undefined) ?? [];
    for (const name of names) if (!tools.some((t) => t.function.name === name)) throw bad(`"tool_choice" allows "${name}", which is not in "tools"`, "tool_choice");
    chat.tools = tools.filter((t) => names.has(t.function.name));
    return mode;
  }
  throw bad(`"tool_choice" ${JSON.stringify(value)} is not supported: use "none", "auto", "required", {"type": "function", "name": …} or {"type": "allowed_tools", …}`, "tool_choice");
}

/** `text.format` as a chat `response_format`: text (the default), json_object, or json_schema. */
function responseFormat(value: unknown): Record<string, unknown> | undefined {
  if (!isSet(value)) return undefined;
  const text = object(value);
  if (!text) throw bad(`"text" must be an object`, "text");
  for (const key of Object.keys(text)) {
    if (key === "format") continue;
    if (key === "verbosity" && !isSet(text.verbosity)) continue;
    throw bad(`"text.${key}" is not supported`, `text.${key}`, "Only text.format is served here.");
  }
  if (!isSet(text.format)) return undefined;
  const format = object(text.format);
  if (format?.type === "text") return undefined;
  if (format?.type === "json_object") return { type: "json_object" };
  if (format?.type === "json_schema") {
    if (typeof format.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(format.name)) throw bad(`"text.format.name" must be letters, digits, _ or - (at most 64)`, "text.format.name");
    if (!object(format.schema)) throw bad(`"text.format.schema" must be a JSON Schema object`, "text.format.schema");
    const spec: Record<string, unknown> = { name: format.name, schema: format.schema };
    if (isSet(format.description)) spec.description = format.description;
    if (isSet(format.strict)) spec.strict = format.strict;
    return { type: "json_schema", json_schema: spec };
  }
  throw bad(`"text.format.type" must be "text", "json_object" or "json_schema"`, "text.format");
}
