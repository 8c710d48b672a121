/**
 * Finds stop sequences in generated text as it streams, across token boundaries: a stop string
 * may arrive split over several tokens (" Lily" as " L" + "ily") or inside one token with text
 * around it. Text that could still become the start of a stop string is held back until the next
 * piece decides it, so the stop text itself is never emitted and the text before it is emitted
 * whole.
 */
export type StopMatcher = {
  /** Adds generated text; returns the text that is now safe to emit and whether a stop string ended generation. */
  push(text: string): { emit: string; stopped: boolean };
  /** Generation ended without a stop: the held-back text is plain output after all. */
  flush(): string;
};

export function createStopMatcher(stops: readonly string[]): StopMatcher {
  const needles = [...new Set(stops.filter((s) => s.length > 0))];
  let held = "";
  let stopped = false;
  return {
    push(text) {
      if (stopped) return { emit: "", stopped: true };
      if (needles.length === 0) return { emit: text, stopped: false };
      held += text;
      // Generation stops where the first stop string is complete: the occurrence that ends
      // earliest (the longer one on a tie), whatever the token boundaries were.
      let first = -1;
      let firstEnd = Infinity;
      for (const needle of needles) {
        const at = held.indexOf(needle);
        if (at < 0) continue;
        const end = at + needle.length;
        if (end < firstEnd || (end === firstEnd && at < first)) {
          first = at;
          firstEnd = end;
        }
      }
      if (first >= 0) {
        stopped = true;
        const emit = held.slice(0, first);
        held = "";
        return { emit, stopped: true };
      }
      const keep = longestSuffixStartingAStop(held, needles);
      const emit = held.slice(0, held.length - keep);
      held = held.slice(held.length - keep);
      return { emit, stopped: false };
    },
    flush() {
      const rest = stopped ? "" : held;
      held = "";
      return rest;
    },
  };
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `needles`. */
function longestSuffixStartingAStop(text: string, needles: readonly string[]): number {
  let best = 0;
  for (const needle of needles) {
    for (let n = Math.min(needle.length - 1, text.length); n > best; n--) {
      if (text.endsWith(needle.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}
