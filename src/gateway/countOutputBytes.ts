import { TOOL_CALL_ENVELOPE_BYTES, toolCallBytes } from "../protocol/toolsPrompt.ts";

/**
 * Bytes of output in a whole (non-streamed) answer: every choice's text and function calls, counted
 * as the provider bills them (see toolCallBytes). The gateway holds a receipt's output count to
 * what these bytes can hold, so a choice left out here would let a provider bill it unchecked, and
 * one counted twice would refuse an honest receipt.
 *
 * @example answerOutputBytes({ choices: [{ message: { content: "Hi" } }, { message: { content: "Yo!" } }] }) // 5
 */
export function answerOutputBytes(body: { choices?: unknown }): number {
  let bytes = 0;
  for (const choice of Array.isArray(body.choices) ? (body.choices as { message?: { content?: unknown; tool_calls?: unknown }; text?: unknown }[]) : []) {
    const text = choice?.message?.content ?? choice?.text;
    if (typeof text === "string") bytes += Buffer.byteLength(text);
    const calls = choice?.message?.tool_calls;
    if (Array.isArray(calls)) {
      for (const c of calls as { function?: { name?: unknown; arguments?: unknown } }[]) bytes += toolCallBytes({ name: String(c?.function?.name ?? ""), arguments: String(c?.function?.arguments ?? "") });
    }
  }
  return bytes;
}

/**
 * Bytes of output in one streamed event: the text and function-call deltas of every choice it
 * carries (a stream of `n` choices interleaves them, each chunk naming its `index`).
 *
 * @example chunkOutputBytes({ choices: [{ index: 1, delta: { content: "Hi" } }] }) // 2
 */
export function chunkOutputBytes(chunk: { choices?: unknown }): number {
  let bytes = 0;
  for (const choice of Array.isArray(chunk.choices) ? (chunk.choices as { delta?: { content?: unknown; tool_calls?: unknown }; text?: unknown }[]) : []) {
    const text = choice?.delta?.content ?? choice?.text;
    if (typeof text === "string") bytes += Buffer.byteLength(text);
    bytes += toolCallDeltaBytes(choice?.delta?.tool_calls);
  }
  return bytes;
}

/** Bytes of function calls in a streamed delta, counted as the provider bills them (see toolCallBytes). */
function toolCallDeltaBytes(toolCalls: unknown): number {
  if (!Array.isArray(toolCalls)) return 0;
  let bytes = 0;
  for (const call of toolCalls as { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[]) {
    if (typeof call?.id === "string") bytes += TOOL_CALL_ENVELOPE_BYTES; // a call's first delta carries its id
    if (typeof call?.function?.name === "string") bytes += Buffer.byteLength(call.function.name);
    if (typeof call?.function?.arguments === "string") bytes += Buffer.byteLength(call.function.arguments);
  }
  return bytes;
}
