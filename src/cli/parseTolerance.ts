import { GotongError } from "../common/errors.ts";
import { DEFAULT_TOLERANCE } from "../verification/compareOutputs.ts";

/** The largest tolerance accepted: beyond a few logits the comparison no longer tells models apart. */
const MAX_TOLERANCE = 5;

/**
 * `--tolerance LOGITS` of `gotong validator start`: how far below the validator's own top token the
 * provider's token may fall at a position and still agree. A decimal from 0 to 5; undefined when the
 * flag is absent (the default, measured by bench/determinism.ts on these machines).
 */
export function parseTolerance(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= MAX_TOLERANCE)) {
    throw new GotongError(`--tolerance must be a number of logits from 0 to ${MAX_TOLERANCE}, not "${text}"`, {
      code: "invalid_arguments",
      hint: `The default, ${DEFAULT_TOLERANCE}, was measured with llama.cpp on CPU (bench/determinism.ts); raise it only for providers on other numerics (GPUs), and measure first.`,
    });
  }
  return value;
}
