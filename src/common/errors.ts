// Type-only: common stays the lowest layer at run time; the code lists live with the wire protocol
// (src/protocol/errorCodes.ts says why), and `tsc` refuses any code not in them.
import type { GotongErrorCode } from "../protocol/errorCodes.ts";

export type { CommonErrorCode, GotongErrorCode } from "../protocol/errorCodes.ts";

/** What a GotongError is built with besides its message. */
export type GotongErrorOptions = {
  code: GotongErrorCode;
  hint?: string;
  status?: number;
  retryable?: boolean;
  param?: string;
  type?: string;
  headers?: Record<string, string>;
  cause?: unknown;
};

/**
 * The one error type of Gotong. Every failure a user can meet is a GotongError with a short
 * message, a hint of what to do, a stable code, and the cause. The HTTP layer maps it to a status
 * and an OpenAI-style error object in one place (`src/common/http.ts`); the CLI prints the message
 * and the hint, and the stack only with `--verbose`.
 */
export class GotongError extends Error {
  /** Stable machine-readable code, e.g. `voucher_signature_invalid`: one of src/protocol/errorCodes.ts. */
  readonly code: GotongErrorCode;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** HTTP status this error maps to when it crosses an HTTP boundary. */
  readonly status: number;
  /** Whether retrying the same operation later can help (network down, busy) or not (bad input). */
  readonly retryable: boolean;
  /** The request parameter at fault, when there is one (OpenAI's `param`). */
  readonly param: string | undefined;
  /** OpenAI's error `type` where it is not the one the status implies (its 401 is `invalid_request_error`). */
  readonly type: string | undefined;
  /** HTTP headers the error is sent with (`retry-after` when it is known, for one). */
  readonly headers: Record<string, string> | undefined;

  constructor(message: string, options: GotongErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "GotongError";
    this.code = options.code;
    this.hint = options.hint;
    this.status = options.status ?? 400;
    this.retryable = options.retryable ?? false;
    this.param = options.param;
    this.type = options.type;
    this.headers = options.headers;
  }
}

/** True when `error` is a GotongError, optionally with the given code. */
export function isGotongError(error: unknown, code?: GotongErrorCode): error is GotongError {
  return error instanceof GotongError && (code === undefined || error.code === code);
}
