import { GotongError } from "../common/errors.ts";

/**
 * The one serialisation of a manifest that gets hashed and signed: JSON with object keys sorted
 * (by UTF-16 code unit, as RFC 8785 sorts them), no whitespace, keys whose value is undefined left
 * out. Only strings, booleans, null, safe integers, arrays and plain objects are allowed: floats and
 * big numbers have several spellings, and a hash must not depend on which one a writer picked.
 * For these values the output is exactly RFC 8785 (JCS).
 *
 * @example canonicalJson({ b: 1, a: [true, "x"] }) // '{"a":[true,"x"],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return write(value, "$");
}

function write(value: unknown, at: string): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw refuse(`${at} is ${value}: only integers up to 2^53 have one canonical spelling`);
    // -0 would print as 0; normalise so the hash never depends on it.
    return String(value === 0 ? 0 : value);
  }
  if (Array.isArray(value)) return `[${value.map((item, i) => write(item, `${at}[${i}]`)).join(",")}]`;
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) throw refuse(`${at} is not a plain object`);
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, `${at}.${k}`)}`).join(",")}}`;
  }
  throw refuse(`${at} is a ${typeof value}, which JSON cannot hold`);
}

function refuse(message: string): GotongError {
  return new GotongError(`Cannot write canonical JSON: ${message}.`, { code: "manifest_invalid" });
}
