import { Readable } from "node:stream";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { GotongError, isGotongError } from "./errors.ts";
import { parseJsonObject, readBody, sendError, sendJson, toErrorResponse } from "./http.ts";

/** A request whose body arrives as `chunks`, then ends; or never ends, when `hang`. */
function requestOf(chunks: string[], headers: Record<string, string> = {}, hang = false): IncomingMessage {
  const stream = new Readable({ read() {} });
  for (const c of chunks) stream.push(Buffer.from(c));
  if (!hang) stream.push(null);
  return Object.assign(stream, { headers }) as unknown as IncomingMessage;
}

/** A response that records what was written, as far as sendJson and sendError use one. */
function responseRecorder(headersSent = false) {
  const out = { status: 0, headers: {} as Record<string, string | number>, body: "", ended: false };
  const res = {
    headersSent,
    writableEnded: false,
    writeHead(status: number, headers: Record<string, string | number>) {
      out.status = status;
      out.headers = headers;
    },
    end(text: string) {
      out.body += text;
      out.ended = true;
      res.writableEnded = true;
    },
  };
  return { res: res as unknown as ServerResponse, out };
}

const caught = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (isGotongError(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
};

describe("toErrorResponse: the one place errors become HTTP", () => {
  it("maps each status to OpenAI's error type, with code, param and hint", () => {
    // The status decides the type, whatever the code.
    const typeOf = (status: number) => toErrorResponse(new GotongError("x", { code: "internal_error", status })).body.error.type;
    expect([400, 401, 402, 403, 404, 409, 429, 500, 502, 503].map(typeOf)).toEqual([
      "invalid_request_error",
      "authentication_error",
      "payment_required",
      "authentication_error",
      "invalid_request_error",
      "invalid_request_error",
      "rate_limit_error",
      "server_error",
      "server_error",
      "server_error",
    ]);
    const { status, body } = toErrorResponse(new GotongError("No provider offers the model \"x\"", { code: "model_not_found", status: 404, param: "model", hint: "Models on offer: m." }));
    expect(status).toBe(404);
    expect(body).toEqual({ error: { message: 'No provider offers the model "x"', type: "invalid_request_error", code: "model_not_found", param: "model", hint: "Models on offer: m." } });
    expect(toErrorResponse(new GotongError("bad key", { code: "invalid_api_key", status: 401, type: "invalid_request_error" })).body.error.type).toBe("invalid_request_error");
  });

  it("tells clients when to retry (429, 503) and closes the connection behind a 413", () => {
    expect(toErrorResponse(new GotongError("busy", { code: "channel_busy", status: 429 })).headers).toEqual({ "retry-after": "1" });
    expect(toErrorResponse(new GotongError("down", { code: "no_provider_ready", status: 503 })).headers).toEqual({ "retry-after": "1" });
    expect(toErrorResponse(new GotongError("big", { code: "body_too_large", status: 413 })).headers).toEqual({ connection: "close" });
    expect(toErrorResponse(new GotongError("x", { code: "too_many_requests", status: 429, headers: { "retry-after": "30" } })).headers).toEqual({ "retry-after": "30" });
    expect(toErrorResponse(new GotongError("x", { code: "channel_closing", status: 402 })).headers).toEqual({});
  });

  it("never shows an unexpected error's message: 500 internal_error", () => {
    const { status, body } = toErrorResponse(new Error("SQLITE_CORRUPT at /home/alice/.gotong/provider.db"));
    expect(status).toBe(500);
    expect(body).toEqual({ error: { message: "Internal error", type: "server_error", code: "internal_error", param: null } });
  });
});

describe("parseJsonObject", () => {
  it("returns a JSON object, and refuses anything else with 400 invalid_json", () => {
    expect(parseJsonObject(Buffer.from('{"model":"m","n":1}'))).toEqual({ model: "m", n: 1 });
    for (const text of ["{", "", "[1,2]", "null", '"text"', "42"]) {
      let error: unknown;
      try {
        parseJsonObject(Buffer.from(text));
      } catch (e) {
        error = e;
      }
      expect(error, text).toMatchObject({ code: "invalid_json", status: 400 });
    }
  });
});

describe("readBody", () => {
  it("joins the chunks of a body, up to the limit exactly", async () => {
    expect((await readBody(requestOf(["ab", "cd", "e"]), 5)).toString()).toBe("abcde");
  });

  it("refuses with 413 a body whose declared length is over the limit, before reading it", async () => {
    const req = requestOf([], { "content-length": "6" }, true);
    expect(await caught(readBody(req, 5))).toMatchObject({ code: "body_too_large", status: 413, message: "The request body is larger than the limit of 5 bytes" });
  });

  it("refuses with 413 a body that grows past the limit without declaring its length", async () => {
    expect(await caught(readBody(requestOf(["abc", "def"]), 5))).toMatchObject({ code: "body_too_large", status: 413 });
  });

  it("refuses with 408 a body that does not arrive in time", async () => {
    const started = Date.now();
    expect(await caught(readBody(requestOf(["{"], {}, true), 1024, 50))).toMatchObject({ code: "body_timeout", status: 408, message: "The request body did not arrive within 50 ms" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("sendJson and sendError", () => {
  it("writes bigint amounts as exact decimal strings, with the byte length", () => {
    const { res, out } = responseRecorder();
    sendJson(res, 200, { cost: 2n ** 64n + 1n, note: "é" });
    expect(out.status).toBe(200);
    expect(out.body).toBe('{"cost":"18446744073709551617","note":"é"}');
    expect(out.headers["content-length"]).toBe(Buffer.byteLength(out.body));
  });

  it("sends an error as its status and body, or as a last SSE event once a stream has begun", () => {
    const error = new GotongError("Channel is closing", { code: "channel_closing", status: 402 });
    const before = responseRecorder();
    sendError(before.res, error);
    expect(before.out.status).toBe(402);
    expect(JSON.parse(before.out.body)).toMatchObject({ error: { code: "channel_closing", type: "payment_required" } });
    const during = responseRecorder(true);
    sendError(during.res, error);
    expect(during.out.status).toBe(0);
    expect(during.out.body).toBe(`data: ${JSON.stringify(toErrorResponse(error).body)}\n\n`);
  });
});
