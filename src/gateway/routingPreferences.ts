import { getAddress, isAddress, type Address } from "viem";
import { GotongError } from "../common/errors.ts";

/** How to rank the providers of a model (OpenRouter's `provider.sort`). */
export type ProviderSort = "price" | "latency" | "throughput";

/** OpenRouter's quantization levels; a GGUF tensor type name (`q4_k`, `q8_0`, `f16`…) is accepted too. */
export const QUANTIZATION_LEVELS = ["int4", "int8", "fp4", "fp6", "fp8", "fp16", "bf16", "fp32", "unknown"] as const;

/**
 * Which providers may serve a request and in what order: OpenRouter's `provider` object, with
 * providers named by address and prices in payment-token base units per million tokens.
 * Absent fields mean the gateway's defaults (see {@link mergeRoutingPreferences}).
 */
export type RoutingPreferences = {
  /** Providers to try first, in this order. */
  order?: Address[];
  /** The only providers that may serve. */
  only?: Address[];
  /** Providers never to use. */
  ignore?: Address[];
  /** Whether providers beyond `order` (or beyond the first choice, without `order`) may be tried. Default true. */
  allowFallbacks?: boolean;
  /** Only providers that support every parameter the request uses. Default false (see the router). */
  requireParameters?: boolean;
  /** Rank by price (lowest first), latency (lowest first) or throughput (highest first). Default: price, then latency. */
  sort?: ProviderSort;
  /** Highest acceptable price, base units per million tokens, for input (`prompt`) and output (`completion`). */
  maxPrice?: { prompt?: bigint; completion?: bigint };
  /** Acceptable quantizations: OpenRouter levels or GGUF tensor type names, lower case. */
  quantizations?: string[];
};

/** Options of {@link parseRoutingPreferences}. */
export type ParseRoutingOptions = {
  /** Decimals of the payment token: `max_price` is given in whole tokens, like OpenRouter's dollars. */
  decimals: number;
  /** What the object is called in errors. Default `provider` (the request field). */
  field?: string;
};

const KEYS = new Set(["order", "only", "ignore", "allow_fallbacks", "require_parameters", "sort", "max_price", "quantizations", "data_collection", "zdr"]);

function bad(message: string, param: string, hint?: string): GotongError {
  return new GotongError(message, { code: "invalid_parameter", status: 400, param, hint });
}

function addresses(value: unknown, param: string): Address[] {
  if (!Array.isArray(value)) throw bad(`${param} must be an array of provider addresses`, param, 'Name providers by their on-chain address, e.g. ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]; GET /gotong/offers lists them.');
  return value.map((entry, i) => {
    if (typeof entry !== "string" || !isAddress(entry, { strict: false })) {
      throw bad(`${param}[${i}] is not a provider address: ${JSON.stringify(entry)}`, `${param}[${i}]`, "Providers are named by their on-chain address (0x followed by 40 hex digits); GET /gotong/offers lists them.");
    }
    return getAddress(entry);
  });
}

/** A price ceiling in whole tokens (number or decimal string) as base units; more decimals than the token has are refused. */
function ceiling(value: unknown, param: string, decimals: number): bigint {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : typeof value === "string" ? value.trim() : undefined;
  const match = text === undefined ? null : /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) {
    throw bad(`${param} must be a non-negative decimal number of payment tokens per million tokens, not ${JSON.stringify(value)}`, param, 'For example 0.5, or "0.000002" as a string for very small prices.');
  }
  const fraction = match[2] ?? "";
  if (fraction.replace(/0+$/, "").length > decimals) {
    throw bad(`${param} ${text} has more decimals than the payment token's ${decimals}`, param, `Prices are whole base units: the smallest step is ${decimals === 0 ? "1" : `0.${"0".repeat(decimals - 1)}1`}.`);
  }
  return BigInt(match[1]!) * 10n ** BigInt(decimals) + BigInt((fraction + "0".repeat(decimals)).slice(0, decimals) || "0");
}

/**
 * Reads OpenRouter's `provider` routing object, refusing with a 400 that names the field anything
 * it cannot honour. Providers are named by address (case-insensitive); `max_price` is in whole
 * payment tokens per million tokens (OpenRouter's dollars per million), turned into base units.
 *
 * @param value The `provider` field of a request (or a gateway's `--routing` file).
 * @returns The preferences, with absent fields left out.
 * @example parseRoutingPreferences({ sort: "price", max_price: { prompt: 1 } }, { decimals: 6 })
 * // { sort: "price", maxPrice: { prompt: 1000000n } }
 */
export function parseRoutingPreferences(value: unknown, options: ParseRoutingOptions): RoutingPreferences {
  const field = options.field ?? "provider";
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw bad(`${field} must be an object of routing preferences`, field, "Fields: order, only, ignore, allow_fallbacks, require_parameters, sort, max_price, quantizations.");
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KEYS.has(key)) throw bad(`${field}.${key} is not a routing preference Gotong knows`, `${field}.${key}`, "Fields: order, only, ignore, allow_fallbacks, require_parameters, sort, max_price, quantizations.");
  }
  const set = (key: string) => input[key] !== undefined && input[key] !== null;
  const out: RoutingPreferences = {};
  if (set("order")) out.order = addresses(input.order, `${field}.order`);
  if (set("only")) out.only = addresses(input.only, `${field}.only`);
  if (set("ignore")) out.ignore = addresses(input.ignore, `${field}.ignore`);
  for (const [key, name] of [["allow_fallbacks", "allowFallbacks"], ["require_parameters", "requireParameters"]] as const) {
    if (!set(key)) continue;
    if (typeof input[key] !== "boolean") throw bad(`${field}.${key} must be true or false`, `${field}.${key}`);
    out[name] = input[key] as boolean;
  }
  if (set("sort")) {
    // OpenRouter also takes { by, partition }; partition orders fallbacks across several models,
    // and a Gotong request names one, so only `by` matters.
    const sort = typeof input.sort === "object" && !Array.isArray(input.sort) ? (input.sort as Record<string, unknown>).by : input.sort;
    if (sort !== "price" && sort !== "latency" && sort !== "throughput") throw bad(`${field}.sort must be "price", "latency" or "throughput", not ${JSON.stringify(sort)}`, `${field}.sort`);
    out.sort = sort;
  }
  if (set("max_price")) {
    const max = input.max_price;
    if (typeof max !== "object" || max === null || Array.isArray(max)) throw bad(`${field}.max_price must be an object such as { "prompt": 1, "completion": 2 }`, `${field}.max_price`);
    const prices: { prompt?: bigint; completion?: bigint } = {};
    for (const [key, price] of Object.entries(max as Record<string, unknown>)) {
      if (price === undefined || price === null) continue;
      if (key === "prompt" || key === "completion") prices[key] = ceiling(price, `${field}.max_price.${key}`, options.decimals);
      else if (key === "request") {
        // Gotong offers charge per token only: no per-request fee, so any ceiling on one is met.
        ceiling(price, `${field}.max_price.request`, options.decimals);
      } else {
        throw bad(`${field}.max_price.${key} cannot be honoured: Gotong prices text tokens only`, `${field}.max_price.${key}`, "Use prompt and completion (payment tokens per million input and output tokens).");
      }
    }
    out.maxPrice = prices;
  }
  if (set("quantizations")) {
    const list = input.quantizations;
    if (!Array.isArray(list)) throw bad(`${field}.quantizations must be an array such as ["int4", "int8"]`, `${field}.quantizations`);
    out.quantizations = list.map((q, i) => {
      if (typeof q !== "string" || !/^[a-z0-9_]{1,16}$/i.test(q)) throw bad(`${field}.quantizations[${i}] is not a quantization: ${JSON.stringify(q)}`, `${field}.quantizations[${i}]`, `Levels: ${QUANTIZATION_LEVELS.join(", ")}; or a GGUF tensor type such as q4_k, q8_0, f16.`);
      return q.toLowerCase();
    });
  }
  // Their "off" values are accepted. Filtering by a retention policy is not: Gotong's provider
  // software keeps no prompt, but a gateway cannot check what software a provider runs.
  if (set("data_collection") && input.data_collection !== "allow") {
    throw bad(`${field}.data_collection ${JSON.stringify(input.data_collection)} cannot be honoured: no provider's retention policy is known to this gateway`, `${field}.data_collection`, 'Prompts are sealed end to end to the provider that serves them, and Gotong\'s provider keeps none; leave the field out or send "allow".');
  }
  if (set("zdr") && input.zdr !== false) {
    throw bad(`${field}.zdr ${JSON.stringify(input.zdr)} cannot be honoured: no provider's retention policy is known to this gateway`, `${field}.zdr`, "Prompts are sealed end to end to the provider that serves them, and Gotong's provider keeps none; leave the field out or send false.");
  }
  return out;
}

/**
 * A request's preferences over the gateway's defaults: each field the request sets replaces the
 * gateway's (lists are not joined), the others stay.
 * @example mergeRoutingPreferences({ sort: "price" }, { sort: "latency" }) // { sort: "latency" }
 */
export function mergeRoutingPreferences(defaults: RoutingPreferences | undefined, request: RoutingPreferences): RoutingPreferences {
  const merged: RoutingPreferences = { ...defaults };
  for (const [key, value] of Object.entries(request) as [keyof RoutingPreferences, never][]) if (value !== undefined) merged[key] = value;
  return merged;
}
