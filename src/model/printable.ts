/**
 * Text from a file, cut to `max` characters with control characters escaped, safe to put in an
 * error message: a hostile tensor name must not be able to rewrite the user's terminal.
 *
 * @example printable("evil\u001b[2Jname") // "evil\\u001b[2Jname"
 */
export function printable(text: string, max = 80): string {
  const short = text.length > max ? `${text.slice(0, max - 3)}...` : text;
  return short.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
