import { isGotongError } from "../../src/common/errors.ts";

/**
 * Runs a parser on a fuzzed input: its result, or undefined when it refused the input with a
 * GotongError whose code is in `allowedCodes`. Anything else (another error, a RangeError from a
 * DataView, a parse slower than `maxMs`) is a bug a crafted file could trigger, and is thrown.
 * A slow parse is timed again before it counts: on a loaded machine one run can lose the CPU for a
 * while (a GC, another process), while a pathological input is slow every time.
 *
 * @example const header = parseOrRefuse(() => parseGgufHeader(bytes), ALLOWED_CODES, 250);
 */
export function parseOrRefuse<T>(parse: () => T, allowedCodes: ReadonlySet<string>, maxMs: number): T | undefined {
  const timed = () => {
    const started = performance.now();
    let result: T | undefined;
    try {
      result = parse();
    } catch (error) {
      if (!isGotongError(error) || !allowedCodes.has(error.code)) throw error;
    }
    return { result, elapsed: performance.now() - started };
  };
  const first = timed();
  if (first.elapsed <= maxMs) return first.result;
  const fastest = Math.min(first.elapsed, timed().elapsed, timed().elapsed);
  if (fastest > maxMs) throw new Error(`parse took ${fastest.toFixed(0)} ms (fastest of three runs)`);
  return first.result;
}
