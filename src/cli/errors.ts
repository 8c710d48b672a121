import { GotongError } from "../common/errors.ts";
import type { CliErrorCode, CommonErrorCode } from "../protocol/errorCodes.ts";

export { cliErrorCodes, type CliErrorCode } from "../protocol/errorCodes.ts";

/**
 * An error of the `gotong` command itself (local state it needs, a gateway it cannot find), with a
 * code that can only be a CLI code or `invalid_arguments`.
 *
 * @example throw cliError("no_gateway_state", "No gateway has run in this data folder yet", { hint: "Start one with `gotong gateway start`." });
 */
export function cliError(code: CliErrorCode | Extract<CommonErrorCode, "invalid_arguments">, message: string, options: { hint?: string; cause?: unknown } = {}): GotongError {
  return new GotongError(message, { code, hint: options.hint, cause: options.cause });
}
