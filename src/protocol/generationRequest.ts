/**
 * A generation request as both sides read it once validated (parseGenerationRequest): the gateway
 * to bound the bill and render the same prompt, the provider to hand it to a backend.
 */

/** One chat message in the OpenAI shape (text content only): a tool's result, or an assistant's earlier tool calls. */
export type ChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[] }
  | { role: "tool"; content: string; toolCallId: string };

/** A function the model may call (OpenAI `tools[].function`). */
export type ToolDefinition = { name: string; description?: string; parameters: Record<string, unknown> };

/** A call of a function: `arguments` is JSON text, as the OpenAI API carries it. */
export type ToolCall = { id: string; name: string; arguments: string };

/** `tool_choice`: never, the model's choice, some function, or one named function. */
export type ToolChoice = "none" | "auto" | "required" | { name: string };

/** What the provider asks a backend to generate, after validating the OpenAI request. */
export type GenerationRequest = {
  kind: "chat" | "completion";
  messages?: ChatMessage[];
  prompt?: string;
  /** Output cap per choice; absent, each choice may run until the context ends (context size minus the prompt's tokens). */
  maxTokens?: number;
  /** Choices to generate (`n`), one after another on the same prompt. Default 1. */
  n?: number;
  /** Log probabilities of each output token, with this many likeliest alternatives (`logprobs`/`top_logprobs`). */
  logprobs?: { top: number };
  temperature: number;
  topP?: number;
  topK?: number;
  /** Extension (llama.cpp): drop tokens less likely than this share of the likeliest. */
  minP?: number;
  /** Extension (llama.cpp): multiplicative repetition penalty over recent output; 1 is off. */
  repeatPenalty?: number;
  seed?: number;
  stop: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Functions the model may call, and how it must choose. */
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** Structured output: any JSON object, or JSON matching a schema (grammar-constrained). */
  responseFormat?: ResponseFormat;
};

/** What `response_format` asks for, beyond plain text; `raw` is the client's value, passed to upstream servers as is. */
export type ResponseFormat =
  | { kind: "json_object"; raw: Record<string, unknown> }
  | { kind: "json_schema"; name: string; schema: Record<string, unknown>; raw: Record<string, unknown> };
