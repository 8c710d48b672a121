import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { GotongError } from "./errors.ts";
import { bigintAsString } from "./bigintJson.ts";
import { encodeEvent, STREAM_DONE } from "../protocol/events.ts";

/** Default cap on a request body: large prompts fit, a flood does not get buffered. */
/**
 * The accept queue asked of the kernel (Linux caps it at net.core.somaxconn, 4096 today). Node's
 * 511 overflowed when 1,000 clients connected at once while the event loop was busy: the kernel
 * dropped the rest of the handshakes, and those clients took the server for gone.
 */
export const LISTEN_BACKLOG = 4096;

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** How long a client may leave a stream unread (its socket full) before the stream is cut. */
export const DEFAULT_STALL_MS = 30_000;

/** Default time a client has to send its whole request body. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/**
 * Reads a request body as bytes, refusing it with 413 as soon as it passes `limit`, and with 408
 * when it has not all arrived within `timeoutMs` (a client dribbling a body holds nothing for long).
 */
export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT, timeoutMs = DEFAULT_BODY_TIMEOUT_MS): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw bodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    req.destroy(new Error("body timeout"));
  }, timeoutMs);
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Stop reading at the limit; the error response closes the connection behind it.
      if (size > limit) throw bodyTooLarge(limit);
      chunks.push(chunk);
    }
  } catch (error) {
    if (timedOut) throw new GotongError(`The request body did not arrive within ${timeoutMs} ms`, { code: "body_timeout", status: 408, hint: "Send the whole body at once." });
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks);
}

/**
 * Sets an HTTP server's own limits deliberately (Node's defaults let a request take 300 s to
 * arrive): headers within 10 s, the whole request within `bodyTimeoutMs` plus a margin, idle
 * keep-alive connections closed after 5 s. Responses (long streams) are not limited here.
 */
export function setServerTimeouts(server: Server, bodyTimeoutMs = DEFAULT_BODY_TIMEOUT_MS): void {
  server.headersTimeout = 10_000;
  server.requestTimeout = bodyTimeoutMs + 5_000;
  server.keepAliveTimeout = 5_000;
}

/** Parses bytes as a JSON object, with a 400 error naming what is wrong. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  const text = Buffer.from(bytes).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new GotongError(`The request body is not valid JSON: ${(cause as Error).message}`, {
      code: "invalid_json",
      hint: "Send a JSON object with Content-Type: application/json.",
      status: 400,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new GotongError("The request body must be a JSON object", { code: "invalid_json", status: 400 });
  }
  return value as Record<string, unknown>;
}

function bodyTooLarge(limit: number): GotongError {
  return new GotongError(`The request body is larger than the limit of ${limit} bytes`, {
    code: "body_too_large",
    hint: "Shorten the prompt or raise the server's body limit.",
    status: 413,
  });
}

/** The OpenAI-style error object every HTTP API in Gotong answers with. */
export type ErrorBody = { error: { message: string; type: string; code: string; param: string | null; hint?: string } };

/** Maps any error to an HTTP status and an OpenAI-style error body: the one place this happens. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  const e =
    error instanceof GotongError
      ? error
      : new GotongError("Internal error", { code: "internal_error", status: 500, cause: error });
  const type =
    e.type ??
    (e.status === 401 || e.status === 403
      ? "authentication_error"
      : e.status === 402
        ? "payment_required"
        : e.status === 429
          ? "rate_limit_error"
          : e.status >= 500
            ? "server_error"
            : "invalid_request_error");
  const headers: Record<string, string> = {};
  if (e.status === 429 || e.status === 503) headers["retry-after"] = "1";
  if (e.status === 413) headers.connection = "close";
  Object.assign(headers, e.headers);
  const body: ErrorBody = { error: { message: e.message, type, code: e.code, param: e.param ?? null } };
  if (e.hint) body.error.hint = e.hint;
  return { status: e.status, body, headers };
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, bigintAsString);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Writes an error as an OpenAI-style error response, or ends the stream when headers are already out. */
export function sendError(res: ServerResponse, error: unknown): void {
  const { status, body, headers } = toErrorResponse(error);
  if (res.headersSent) {
    // Mid-stream: the status is gone, so the error travels as a final SSE event.
    if (!res.writableEnded) res.end(encodeEvent({ data: JSON.stringify(body) }));
    return;
  }
  sendJson(res, status, body, headers);
}

/**
 * Starts a Server-Sent Events response with a keep-alive comment every 15 s during long evaluations.
 * Events sent in the same turn of the event loop leave in one write, after the turn: the token loop
 * goes straight back to the model while the socket work happens beside it.
 */
export type SseStream = {
  /** Queues an event; `mark` is a running count (e.g. output tokens) that counts as sent once flushed. */
  send(data: unknown, mark?: number): void;
  /** Passes on complete, already-encoded SSE events as they are. */
  forward(events: Buffer): void;
  /** The latest `mark` whose event has been written to the socket. */
  sentMark(): number;
  /**
   * Undefined while the socket takes what is written; once it is full (the client reads slower than
   * we write), a promise that settles when it drains or the stream closes. Producers wait on it.
   */
  whenWritable(): Promise<void> | undefined;
  /**
   * Ends the stream; `trailer` is raw SSE text written after the last (sealed) event. `done: false`
   * leaves out the closing `data: [DONE]` (the Responses API's streams end without it).
   */
  end(trailer?: string, done?: boolean): void;
};

/**
 * Undefined while `res` takes what is written; once its buffer is full, a promise that settles when
 * it drains or closes. Producers wait on it instead of buffering without bound.
 */
export function whenDrained(res: ServerResponse): Promise<void> | undefined {
  if (!res.writableNeedDrain || res.destroyed || res.writableEnded) return undefined;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Largest batch of events written (and sealed) as one piece; far below a sealed frame's limit. */
const MAX_BATCH_CHARS = 64 * 1024;

export function startSse(
  res: ServerResponse,
  headers: Record<string, string> = {},
  /** Seals each batch of events before it leaves (end-to-end encryption); `final` marks the last. */
  seal?: (events: string, final: boolean, mark: number) => string,
  /** Cut the stream when the client has read nothing for this long while the socket is full. */
  stallMs?: number,
): SseStream {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    ...headers,
  });
  res.flushHeaders();
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
  keepAlive.unref();
  let stallTimer: NodeJS.Timeout | undefined;
  res.on("close", () => {
    clearInterval(keepAlive);
    clearTimeout(stallTimer);
  });
  let pending = "";
  let scheduled = false;
  let pendingMark = 0;
  // `sent` counts only what the socket took: what waits in the response's own buffer because the
  // client stopped reading is not sent until 'drain' says so.
  let sent = 0;
  let waitingMark: number | undefined;
  res.on("drain", () => {
    if (waitingMark !== undefined) sent = waitingMark;
    waitingMark = undefined;
    clearTimeout(stallTimer);
    stallTimer = undefined;
  });
  const write = (chunk: string | Buffer, mark: number) => {
    if (res.write(chunk)) {
      if (waitingMark === undefined) sent = mark;
      else waitingMark = mark;
      return;
    }
    waitingMark = mark;
    if (stallMs !== undefined && !stallTimer) {
      stallTimer = setTimeout(() => res.destroy(new Error(`the client read nothing for ${stallMs} ms`)), stallMs);
      stallTimer.unref();
    }
  };
  const flush = () => {
    scheduled = false;
    if (pending && !res.writableEnded && !res.destroyed) write(seal ? seal(pending, false, pendingMark) : pending, pendingMark);
    pending = "";
  };
  return {
    sentMark: () => sent,
    whenWritable: () => whenDrained(res),
    send: (data, mark) => {
      pending += encodeEvent({ data: typeof data === "string" ? data : JSON.stringify(data) });
      if (mark !== undefined) pendingMark = mark;
      // Events are batched until the event loop turns; a producer that sends many at once (an
      // upstream's burst) is written out in bounded batches, each one sealed frame.
      if (pending.length >= MAX_BATCH_CHARS) return flush();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    forward: (events) => {
      if (pending) flush();
      if (!res.writableEnded && !res.destroyed) write(seal ? seal(events.toString("utf8"), false, pendingMark) : events, pendingMark);
    },
    end: (trailer = "", done = true) => {
      clearInterval(keepAlive);
      const last = done ? pending + encodeEvent({ data: STREAM_DONE }) : pending;
      if (!res.writableEnded) res.end((seal ? seal(last, true, pendingMark) : last) + trailer);
      pending = "";
    },
  };
}
