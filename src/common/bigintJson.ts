/**
 * A `JSON.stringify` replacer that writes bigints (token amounts, ids) as decimal strings, which
 * JSON has no number type for: JSON.stringify would throw on them.
 *
 * @example JSON.stringify({ cost: 66n }, bigintAsString) // '{"cost":"66"}'
 */
export function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
