import { GotongError } from "../common/errors.ts";
import { readEvents, STREAM_DONE } from "../protocol/events.ts";
import type { FinishReason, InferenceBackend, PreparedGeneration } from "./backend.ts";
import type { GenerationRequest } from "../protocol/generationRequest.ts";

export type UpstreamBackendOptions = {
  /** OpenAI-compatible base URL of a server the provider already runs (vLLM, Ollama, llama-server…), e.g. http://127.0.0.1:8080/v1 */
  baseUrl: string;
  /** Model name the upstream server knows the weights by. */
  model: string;
  /** Bearer token for the upstream, if it wants one. */
  apiKey?: string;
  /** Context window of the upstream model. Default 4096. */
  contextSize?: number;
  /** Give up on an upstream that sends nothing for this long. Default 120 s. */
  idleTimeoutMs?: number;
};

/**
 * Serves generations from an upstream OpenAI-compatible server instead of embedded llama.cpp. The
 * prompt's token count is not known before the upstream answers, so the deposit is checked against
 * an upper bound (one token per byte) and the bill uses the upstream's own `usage` when it comes.
 */
export function createUpstreamBackend(options: UpstreamBackendOptions): InferenceBackend {
  const base = options.baseUrl.replace(/\/+$/, "");
  const contextSize = options.contextSize ?? 4096;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return {
    engine: "upstream",
    contextSize,
    // Tools are refused below; `response_format` is passed on, but whether the upstream honours it
    // cannot be checked from here, so structured outputs are not declared and not routed here.
    capabilities: ["chat"],
    async prepare(request: GenerationRequest): Promise<PreparedGeneration> {
      if (request.tools && request.toolChoice !== "none") {
        throw new GotongError("This provider serves from an upstream server and does not relay function calls", { code: "invalid_parameter", param: "tools", status: 400, hint: "Send the request without tools, or to a provider on the embedded engine." });
      }
      // An upstream's extra choices and token probabilities could not be checked against what it
      // bills (its usage is one total), so they are refused rather than relayed on trust.
      if ((request.n ?? 1) > 1) {
        throw new GotongError("This provider serves from an upstream server and generates one choice per request", { code: "invalid_parameter", param: "n", status: 400, hint: "Send n: 1 (or leave it out), or use a provider on the embedded engine." });
      }
      if (request.logprobs) {
        throw new GotongError("This provider serves from an upstream server and does not relay log probabilities", { code: "invalid_parameter", param: "logprobs", status: 400, hint: "Leave logprobs out, or use a provider on the embedded engine." });
      }
      const text = request.kind === "chat" ? (request.messages ?? []).map((m) => m.content).join("\n") : (request.prompt ?? "");
      // Every token is at least one byte; a few more for the chat template.
      const bound = Buffer.byteLength(text) + 8 * (request.messages?.length ?? 1) + 8;
      // No max_tokens: the upstream generates until its context ends, which bounds the output too.
      const maxTokens = request.maxTokens ?? contextSize;
      return {
        inputTokens: bound,
        maxOutputTokens: maxTokens,
        choices: 1,
        async run({ signal, onText }) {
          const path = request.kind === "chat" ? "/chat/completions" : "/completions";
          const body = {
            model: options.model,
            ...(request.kind === "chat" ? { messages: request.messages } : { prompt: request.prompt }),
            max_tokens: request.maxTokens,
            temperature: request.temperature,
            top_p: request.topP,
            seed: request.seed,
            stop: request.stop.length ? request.stop : undefined,
            response_format: request.responseFormat?.raw,
            presence_penalty: request.presencePenalty,
            frequency_penalty: request.frequencyPenalty,
            stream: true,
            stream_options: { include_usage: true },
          };
          let res: Response;
          try {
            res = await fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body), signal });
          } catch (cause) {
            if (signal.aborted) return { finishReason: "abort", outputTokens: 0, choices: [] };
            throw new GotongError(`The upstream server at ${base} is unreachable`, { code: "upstream_unreachable", status: 503, retryable: true, cause });
          }
          if (!res.ok || !res.body) {
            throw new GotongError(`The upstream server answered ${res.status}`, { code: "upstream_error", status: res.status >= 500 ? 503 : 502, hint: (await res.text().catch(() => "")).slice(0, 200) });
          }
          let outputTokens = 0;
          let inputTokens: number | undefined;
          let finishReason: FinishReason = "stop";
          try {
            for await (const { data } of readEvents(res.body as unknown as AsyncIterable<Uint8Array>)) {
              if (data === STREAM_DONE) continue;
              const chunk = JSON.parse(data) as {
                choices?: { delta?: { content?: string }; text?: string; finish_reason?: string | null }[];
                usage?: { prompt_tokens?: number; completion_tokens?: number };
              };
              const choice = chunk.choices?.[0];
              const piece = choice?.delta?.content ?? choice?.text;
              if (piece) {
                outputTokens += 1; // one streamed chunk per token; corrected by `usage` below
                // A full client socket stops the reading here, and so the upstream's own stream.
                const wait = onText(piece, 1, { choice: 0 });
                if (wait) await wait;
              }
              if (choice?.finish_reason === "length") finishReason = "length";
              if (chunk.usage) {
                inputTokens = chunk.usage.prompt_tokens;
                if (chunk.usage.completion_tokens !== undefined) outputTokens = chunk.usage.completion_tokens;
              }
            }
          } catch (cause) {
            if (signal.aborted) return { finishReason: "abort", outputTokens, inputTokens, choices: [{ finishReason: "abort", outputTokens }] };
            throw new GotongError("The upstream stream broke off", { code: "upstream_error", status: 502, cause });
          }
          finishReason = signal.aborted ? "abort" : finishReason;
          return { finishReason, outputTokens, inputTokens: inputTokens === undefined ? undefined : Math.min(inputTokens, bound), choices: [{ finishReason, outputTokens }] };
        },
      };
    },
    async dispose() {},
  };
}
