import { readFileSync } from "node:fs";
import { GotongError } from "../common/errors.ts";
import { parseRoutingPreferences, type RoutingPreferences } from "./routingPreferences.ts";

/** The command-line form of a gateway's default routing preferences. */
export type RoutingFlags = {
  /** A JSON file holding an OpenRouter `provider` object. */
  routing?: string;
  /** Comma-separated provider addresses to try first (`provider.order`). */
  providerOrder?: string;
  /** `price`, `latency` or `throughput` (`provider.sort`). */
  sort?: string;
  /** `PROMPT` or `PROMPT,COMPLETION`, payment tokens per million tokens (`provider.max_price`). */
  maxPrice?: string;
};

/**
 * A gateway's default routing preferences from `--routing FILE` and the flags that set single
 * fields of it (which win over the file's), checked exactly as a request's `provider` object is.
 *
 * @example routingFromFlags({ sort: "price", maxPrice: "1,2" }, 6) // { sort: "price", maxPrice: { prompt: 1000000n, completion: 2000000n } }
 */
export function routingFromFlags(flags: RoutingFlags, decimals: number): RoutingPreferences | undefined {
  let object: Record<string, unknown> = {};
  if (flags.routing !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.routing, "utf8");
    } catch (cause) {
      throw new GotongError(`Cannot read the routing file ${flags.routing}`, { code: "invalid_arguments", hint: "--routing takes a JSON file holding an OpenRouter-style provider object.", cause });
    }
    try {
      object = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
      throw new GotongError(`The routing file ${flags.routing} is not JSON: ${(cause as Error).message}`, { code: "invalid_arguments", cause });
    }
  }
  if (typeof object !== "object" || object === null || Array.isArray(object)) throw new GotongError(`The routing file ${flags.routing} must hold a JSON object`, { code: "invalid_arguments" });
  const list = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);
  if (flags.providerOrder !== undefined) object = { ...object, order: list(flags.providerOrder) };
  if (flags.sort !== undefined) object = { ...object, sort: flags.sort };
  if (flags.maxPrice !== undefined) {
    const [prompt, completion, ...extra] = flags.maxPrice.split(",").map((s) => s.trim());
    if (extra.length || !prompt) throw new GotongError(`--max-price takes PROMPT or PROMPT,COMPLETION, not "${flags.maxPrice}"`, { code: "invalid_arguments" });
    object = { ...object, max_price: { prompt, ...(completion ? { completion } : {}) } };
  }
  if (Object.keys(object).length === 0) return undefined;
  try {
    return parseRoutingPreferences(object, { decimals, field: "routing" });
  } catch (error) {
    throw new GotongError((error as Error).message, { code: "invalid_arguments", hint: (error as GotongError).hint, cause: error });
  }
}
