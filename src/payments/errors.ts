import { GotongError } from "../common/errors.ts";
import type { PaymentsErrorCode } from "../protocol/errorCodes.ts";

export { paymentsErrorCodes, type PaymentsErrorCode } from "../protocol/errorCodes.ts";

/**
 * A payment refusal (channel, voucher or receipt), with a code that can only be a payments code.
 * Default status 402: the request was not paid for.
 *
 * @example throw paymentRefusedError("voucher_wrong_epoch", "The voucher is for epoch 1 but the channel is in epoch 2");
 */
export function paymentRefusedError(code: PaymentsErrorCode, message: string, options: { hint?: string; status?: number; cause?: unknown } = {}): GotongError {
  return new GotongError(message, { code, status: options.status ?? 402, hint: options.hint, cause: options.cause });
}
