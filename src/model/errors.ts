import { GotongError } from "../common/errors.ts";
import type { ModelErrorCode } from "../protocol/errorCodes.ts";

export { modelErrorCodes, type ModelErrorCode } from "../protocol/errorCodes.ts";

/**
 * An error about a model (its files, header, manifest, download or registry entry), with a code
 * that can only be a model code. The file-specific constructors stay beside their readers
 * (`modelFileError.ts`, `diskError.ts`).
 *
 * @example throw modelError("model_not_registered", "Model #7 is not in the registry", { status: 404 });
 */
export function modelError(code: ModelErrorCode, message: string, options: { hint?: string; status?: number; cause?: unknown } = {}): GotongError {
  return new GotongError(message, { code, status: options.status, hint: options.hint, cause: options.cause });
}
