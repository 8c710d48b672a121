import { randomBytes } from "node:crypto";
import type { PromptInput } from "../model/createPromptRenderer.ts";
import type { GenerationRequest, ToolCall, ToolDefinition } from "./generationRequest.ts";
import { parseGenerationRequest } from "./parseGenerationRequest.ts";

/**
 * Function calling on any model, in the model's own chat template: the functions are described in
 * a system message, a call is a JSON object `{"name": …, "arguments": {…}}` (grammar-constrained
 * when a call is required, so it always parses and matches the function's schema), earlier calls
 * are the assistant's turns in that same form, and a tool's result is a user turn naming the call.
 * Provider and gateway both render prompts through here, so the gateway's exact input count holds.
 */

/** Bytes of the `{"name":"","arguments":}` around a call's name and arguments: both sides bill them. */
export const TOOL_CALL_ENVELOPE_BYTES = 24;

/** The prompt the model sees for a request, tools and tool turns included. */
export function promptInputOf(request: GenerationRequest): PromptInput {
  if (request.kind === "completion") return { kind: "completion", prompt: request.prompt ?? "" };
  const messages: { role: "system" | "user" | "assistant"; content: string }[] = [];
  const tools = request.toolChoice === "none" ? [] : (request.tools ?? []);
  if (tools.length > 0) messages.push({ role: "system", content: describeTools(tools) });
  for (const m of request.messages ?? []) {
    if (m.role === "tool") messages.push({ role: "user", content: `Result of call ${m.toolCallId}: ${m.content}` });
    else if (m.role === "assistant" && m.toolCalls?.length) {
      const calls = m.toolCalls.map((c) => JSON.stringify({ name: c.name, arguments: safeJson(c.arguments) })).join("\n");
      messages.push({ role: "assistant", content: m.content ? `${m.content}\n${calls}` : calls });
    } else messages.push({ role: m.role, content: m.content });
  }
  return { kind: "chat", messages };
}

/** The prompt of a request body as the provider parses and renders it; undefined for one it will refuse. */
export function promptInputOfBody(body: Record<string, unknown>): PromptInput | undefined {
  try {
    return promptInputOf(parseGenerationRequest(Array.isArray(body.messages) ? "chat" : "completion", body));
  } catch {
    return undefined;
  }
}

function describeTools(tools: ToolDefinition[]): string {
  const list = tools.map((t) => `- ${t.name}${t.description ? `: ${t.description}` : ""}\n  arguments (JSON Schema): ${JSON.stringify(t.parameters)}`).join("\n");
  return `You can call these functions:\n${list}\nTo call one, answer with only a JSON object: {"name": "<function name>", "arguments": {<arguments>}}. Otherwise answer in plain text.`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The JSON Schema a required call must match: one of the allowed functions, with its own arguments. */
export function toolCallSchema(request: GenerationRequest): Record<string, unknown> | undefined {
  const choice = request.toolChoice;
  if (!request.tools?.length || choice === undefined || choice === "none" || choice === "auto") return undefined;
  const allowed = typeof choice === "object" ? request.tools.filter((t) => t.name === choice.name) : request.tools;
  const variants = allowed.map((t) => ({
    type: "object",
    properties: { name: { const: t.name }, arguments: t.parameters },
    required: ["name", "arguments"],
    additionalProperties: false,
  }));
  return variants.length === 1 ? variants[0] : { anyOf: variants };
}

/** Reads a model's answer as a call of one of `tools`, or undefined when it is plain text. */
export function readToolCall(text: string, tools: ToolDefinition[]): ToolCall | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const call = value as { name?: unknown; arguments?: unknown };
  if (typeof call !== "object" || call === null || typeof call.name !== "string" || !tools.some((t) => t.name === call.name)) return undefined;
  if (typeof call.arguments !== "object" || call.arguments === null || Array.isArray(call.arguments)) return undefined;
  return { id: `call_${randomBytes(12).toString("hex")}`, name: call.name, arguments: JSON.stringify(call.arguments) };
}

/** What a delivered call weighs when billing is held to the bytes delivered (see TOOL_CALL_ENVELOPE_BYTES). */
export function toolCallBytes(call: { name: string; arguments: string }): number {
  return Buffer.byteLength(call.name) + Buffer.byteLength(call.arguments) + TOOL_CALL_ENVELOPE_BYTES;
}
