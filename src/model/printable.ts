/**
 * A character that can rewrite a terminal or split a line: C0 and C1 controls, DEL, and the Unicode
 * line and paragraph separators. Refused in manifest names and paths, escaped in error messages.
 */
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, "g");

/**
 * Text from a file, cut to `max` characters with control characters escaped, safe to put in an
 * error message: a hostile tensor name must not be able to rewrite the user's terminal.
 *
 * @example printable("evil\u001b[2Jname") // "evil\\u001b[2Jname"
 */
export function printable(text: string, max = 80): string {
  const short = text.length > max ? `${text.slice(0, max - 3)}...` : text;
  return short.replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
