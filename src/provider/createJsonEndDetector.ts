/**
 * Tells when a JSON value streaming in as text is complete: after the top-level object or array
 * closes (outside strings, escapes honoured), anything more is at best whitespace. A grammar keeps
 * the text valid JSON; this stops generation where the value ends instead of letting the model pad
 * it with whitespace until `max_tokens`.
 */
export type JsonEndDetector = {
  /** Feeds text; returns how many of its characters belong to the value when it ended in them, else undefined. */
  push(text: string): number | undefined;
};

export function createJsonEndDetector(): JsonEndDetector {
  let depth = 0;
  let started = false;
  let inString = false;
  let escaped = false;
  let ended = false;
  return {
    push(text) {
      if (ended) return 0;
      for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === "\\") escaped = true;
          else if (c === '"') inString = false;
          continue;
        }
        if (c === '"') inString = true;
        else if (c === "{" || c === "[") {
          depth++;
          started = true;
        } else if ((c === "}" || c === "]") && started) {
          depth--;
          if (depth === 0) {
            ended = true;
            return i + 1;
          }
        }
      }
      return undefined;
    },
  };
}
