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
  maxTokens: number;
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

export type FinishReason = "stop" | "length" | "abort";

/** A request whose prompt has been rendered and counted, ready to run when a slot is free. */
export type PreparedGeneration = {
  /** Exact number of prompt tokens the model will evaluate (what the user pays for as input). */
  inputTokens: number;
  /** Largest number of output tokens this request may produce. */
  maxOutputTokens: number;
  /**
   * Generates, calling `onText` as text arrives with the number of new tokens it carries. When
   * `onText` returns a promise (the client's socket is full), generation waits for it before the
   * next token. Stops within a token when `signal` aborts and then reports `abort`.
   */
  run(options: { signal: AbortSignal; onText: (text: string, tokens: number) => void | Promise<void> }): Promise<{
    finishReason: FinishReason;
    outputTokens: number;
    /** Prompt tokens actually evaluated, when only known afterwards (upstream servers); at most `inputTokens`. */
    inputTokens?: number;
  }>;
};

/** An inference engine a provider serves from: embedded llama.cpp, or an upstream server. */
export interface InferenceBackend {
  /** Name of the engine, for `/v1/models` and logs. */
  readonly engine: string;
  /** Maximum tokens of prompt plus output. */
  readonly contextSize: number;
  /** Renders and counts the prompt; throws a 400 GotongError when it cannot fit. */
  prepare(request: GenerationRequest): Promise<PreparedGeneration>;
  dispose(): Promise<void>;
}
