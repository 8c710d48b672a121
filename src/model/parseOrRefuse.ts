import { isGotongError } from "../common/errors.ts";

/**
 * Runs a parser on a fuzzed input: its result, or undefined when it refused the input with a
 * GotongError whose code is in `allowedCodes`. Anything else (another error, a RangeError from a
 * DataView, a parse slower than `maxMs`) is a bug a crafted file could trigger, and is thrown.
 *
 * @example const header = parseOrRefuse(() => parseGgufHeader(bytes), ALLOWED_CODES, 250);
 */
export function parseOrRefuse<T>(parse: () => T, allowedCodes: ReadonlySet<string>, maxMs: number): T | undefined {
  const started = performance.now();
  let result: T | undefined;
  try {
    result = parse();
  } catch (error) {
    if (!isGotongError(error) || !allowedCodes.has(error.code)) throw error;
  }
  const elapsed = performance.now() - started;
  if (elapsed > maxMs) throw new Error(`parse took ${elapsed.toFixed(0)} ms`);
  return result;
}
