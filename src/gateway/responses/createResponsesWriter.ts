import type { ServerResponse } from "node:http";
import type { Hex } from "viem";
import { sendJson, startSse, type SseStream } from "../../common/http.ts";
import { encodeEvent } from "../../protocol/events.ts";
import type { RelaySink } from "../createChatSink.ts";
import { createResponseEvents, type ResponseEvent, type ResponseEvents } from "./createResponseEvents.ts";
import type { ResponsesRequest } from "./toChatRequest.ts";
import { toResponse } from "./toResponse.ts";

/** A response's id: its paid request's id, so `gotong.receiptId` and `x-gotong-receipt-id` name the same request. */
export function responseIdOf(requestId: Hex): string {
  return `resp_${requestId.slice(2)}`;
}

/** Chat-completions parameter names in a provider's refusal, and what the Responses request calls them. */
const PARAM_NAMES: [chat: string, responses: string][] = [
  ["max_completion_tokens", "max_output_tokens"],
  ["max_tokens", "max_output_tokens"],
  ["response_format", "text.format"],
  ["messages", "input"],
];

/** A provider's refusal of the translated request, in the names of the request the client sent. */
function inResponsesTerms(body: unknown): unknown {
  const error = (body as { error?: { message?: unknown; param?: unknown } } | undefined)?.error;
  if (!error) return body;
  let message = typeof error.message === "string" ? error.message : undefined;
  let param = typeof error.param === "string" ? error.param : undefined;
  for (const [chat, responses] of PARAM_NAMES) {
    message = message?.replaceAll(`"${chat}"`, `"${responses}"`);
    if (param === chat || param?.startsWith(`${chat}[`) || param?.startsWith(`${chat}.`)) param = responses;
  }
  return { ...body as object, error: { ...error, message, param: param ?? error.param ?? null } };
}

/**
 * The sink of `POST /v1/responses`: the paid chat completion written back as the Responses API
 * writes it, a `response` object or its streamed events (each `event: <type>` with its data, no
 * `[DONE]`). Gotong's extras stay: the `x-gotong-*` headers, and `gotong` (receipt id, cost,
 * counts) on the final response object.
 *
 * @param res The client's response.
 * @param request The Responses request being answered.
 * @param options `stallMs`: cut a stream whose client has read nothing for this long.
 */
export function createResponsesWriter(res: ServerResponse, request: ResponsesRequest, options: { stallMs: number }): RelaySink {
  const createdAt = Math.floor(Date.now() / 1000);
  const obfuscate = (request.stream_options as { include_obfuscation?: unknown } | undefined)?.include_obfuscation !== false;
  let sse: SseStream | undefined;
  let stream: ResponseEvents | undefined;
  const write = (events: ResponseEvent[]) => {
    if (events.length === 0) return;
    sse!.forward(Buffer.from(events.map((e) => encodeEvent({ event: e.type, data: JSON.stringify(e) })).join("")));
  };
  return {
    res,
    completion(body, summary, headers) {
      sendJson(res, 200, toResponse(body, request, responseIdOf(summary.receiptId), createdAt, summary), headers);
    },
    refused(status, body) {
      sendJson(res, status, inResponsesTerms(body));
    },
    open(headers, requestId) {
      sse = startSse(res, headers, undefined, options.stallMs);
      stream = createResponseEvents(request, responseIdOf(requestId), createdAt, { obfuscate });
      write(stream.start());
    },
    events(_raw, chunks) {
      write(stream!.chunks(chunks));
    },
    finished(chunk, summary) {
      write(stream!.finish(chunk, summary));
    },
    failed(body) {
      write(stream!.fail({ code: body.error.code, message: body.error.message }));
    },
    end() {
      sse!.end("", false);
    },
  };
}
