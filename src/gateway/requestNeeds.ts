import type { Capability } from "../protocol/capabilities.ts";

/**
 * The capabilities a chat or text-completion request uses, which every provider it is routed to
 * must declare: `chat`; `tools` when it sends functions the model may call (`tools` not empty and
 * `tool_choice` not `"none"`); `structured_outputs` when `response_format` asks for JSON
 * (`json_object` or `json_schema`). Parameters sent with their "off" value need nothing.
 *
 * @example requestNeeds({ model: "m", messages: [], tools: [{ type: "function", function: { name: "f" } }] }) // ["chat", "tools"]
 */
export function requestNeeds(body: Record<string, unknown>): Capability[] {
  const needs: Capability[] = ["chat"];
  if (Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== "none") needs.push("tools");
  const format = body.response_format;
  const type = typeof format === "object" && format !== null ? (format as Record<string, unknown>).type : undefined;
  if (type === "json_object" || type === "json_schema") needs.push("structured_outputs");
  return needs;
}
