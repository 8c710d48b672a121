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

/** The command-line form of a gateway's challenger (see startChallenges). */
export type ChallengeFlags = {
  /** `--challenge-share F`: a number within 0 and 1 (0.006 is one challenge per about 170 real requests; 0 turns them off). */
  challengeShare?: string;
  /** `--challenge-share-new F`: the share for a provider's first requests through this gateway (within 0 and 1). */
  challengeShareNew?: string;
  /** `--validator URL`, repeatable: validators' base URLs. */
  validator?: string[];
};

/**
 * The challenger's settings from `--challenge-share`, `--challenge-share-new` and `--validator`, refused with the flag's name
 * when they cannot be right (a share outside 0..1 or not a number, a URL that is not http(s)).
 *
 * @example challengesFromFlags({ challengeShare: "0.05", validator: ["http://127.0.0.1:8700"] }) // { challengeShare: 0.05, validators: ["http://127.0.0.1:8700"] }
 */
export function challengesFromFlags(flags: ChallengeFlags): { challengeShare?: number; challengeShareNew?: number; validators?: string[] } {
  const challengeShare = shareFlag("--challenge-share", flags.challengeShare);
  const challengeShareNew = shareFlag("--challenge-share-new", flags.challengeShareNew);
  const validators = flags.validator?.map((url) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new GotongError(`--validator takes a URL, not "${url}"`, { code: "invalid_arguments", hint: "The validator's base URL, e.g. http://127.0.0.1:8700 (`gotong validator start` prints it)." });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new GotongError(`--validator takes an http(s) URL, not "${url}"`, { code: "invalid_arguments" });
    return url;
  });
  return { ...(challengeShare !== undefined ? { challengeShare } : {}), ...(challengeShareNew !== undefined ? { challengeShareNew } : {}), ...(validators?.length ? { validators } : {}) };
}

/** A share flag's number, refused with the flag's name unless it is a plain number within 0 and 1. */
function shareFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const share = /^(\d+(\.\d*)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!(share >= 0 && share <= 1)) {
    throw new GotongError(`${flag} takes a number within 0 and 1, not "${text}"`, { code: "invalid_arguments", hint: "0.006 sends one challenge per about 170 real requests a provider serves; 0 turns challenges off." });
  }
  return share;
}
