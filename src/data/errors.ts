import { GotongError } from "../common/errors.ts";
import type { ModelErrorCode } from "../protocol/errorCodes.ts";

/** The codes of dataset errors: they sit with the model codes, since a dataset is registered like a model. */
export type DatasetErrorCode = Extract<ModelErrorCode, `dataset_${string}`>;

/**
 * An error about a dataset (its files, signed manifest, registry entry or a grant of its key).
 *
 * @example throw datasetError("dataset_not_owner", "You do not own dataset #3", { hint: "…" });
 */
export function datasetError(code: DatasetErrorCode, message: string, options: { hint?: string; status?: number; param?: string; cause?: unknown } = {}): GotongError {
  return new GotongError(message, { code, status: options.status ?? 422, hint: options.hint, param: options.param, cause: options.cause });
}
