import { type GotongError, isGotongError } from "../../src/common/errors.ts";

// Test helpers: what a call that must fail with a GotongError threw. Any other error is rethrown,
// and a call that succeeds fails the test.

const SUCCEEDED = "expected a GotongError, but the call succeeded";

/**
 * The GotongError that `run` throws.
 *
 * @example expect(gotongErrorOf(() => parseGgufHeader(bytes)).code).toBe("gguf_truncated")
 */
export function gotongErrorOf(run: () => unknown): GotongError {
  try {
    run();
  } catch (error) {
    if (!isGotongError(error)) throw error;
    return error;
  }
  throw new Error(SUCCEEDED);
}

/**
 * The GotongError that `run` (a promise, or a function that throws or returns one) rejects with.
 *
 * @example expect((await gotongRejectionOf(readGgufHeader(path))).code).toBe("model_file_not_found")
 */
export async function gotongRejectionOf(run: Promise<unknown> | (() => unknown)): Promise<GotongError> {
  try {
    await (typeof run === "function" ? run() : run);
  } catch (error) {
    if (!isGotongError(error)) throw error;
    return error;
  }
  throw new Error(SUCCEEDED);
}
