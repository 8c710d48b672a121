import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createStopMatcher } from "./createStopMatcher.ts";

/** Feeds `pieces` as generated tokens would arrive and returns what a client would see. */
function run(stops: string[], pieces: string[]): { text: string; stopped: boolean } {
  const matcher = createStopMatcher(stops);
  let text = "";
  for (const piece of pieces) {
    const { emit, stopped } = matcher.push(piece);
    text += emit;
    if (stopped) return { text, stopped: true };
  }
  return { text: text + matcher.flush(), stopped: false };
}

/** What the whole text should give: everything before the stop string that is complete first. */
function expected(stops: string[], whole: string): { text: string; stopped: boolean } {
  for (let end = 1; end <= whole.length; end++) {
    const done = stops.filter((s) => whole.slice(0, end).endsWith(s));
    if (done.length > 0) return { text: whole.slice(0, end - Math.max(...done.map((s) => s.length))), stopped: true };
  }
  return { text: whole, stopped: false };
}

describe("stop sequences matched on the text, across token boundaries", () => {
  it("stops on a stop string that contains a space and arrives split over tokens", () => {
    expect(run(["Where is"], ["Once", " upon", " a time. Wh", "ere", " is", " the dog?"])).toEqual({ text: "Once upon a time. ", stopped: true });
    expect(run([" Lily"], ["She", " met", " L", "ily", " today"])).toEqual({ text: "She met", stopped: true });
    expect(run(["little girl"], ["a little", " girl", " ran"])).toEqual({ text: "a ", stopped: true });
  });

  it("stops inside one token and keeps the text before the stop in that token", () => {
    expect(run(["END"], ["abcENDxyz"])).toEqual({ text: "abc", stopped: true });
  });

  it("releases held-back text once it can no longer start a stop string", () => {
    const matcher = createStopMatcher(["Where is"]);
    expect(matcher.push("Once Wh")).toEqual({ emit: "Once ", stopped: false });
    expect(matcher.push("at a day")).toEqual({ emit: "What a day", stopped: false });
  });

  it("gives back held text at the end when no stop came", () => {
    expect(run(["Where is"], ["Go", " Whe"])).toEqual({ text: "Go Whe", stopped: false });
  });

  it("stops at the stop string that is complete first, even within one token", () => {
    expect(run(["dog", "cat"], ["the cat and the dog"])).toEqual({ text: "the ", stopped: true });
    expect(run(["b a c", "a"], ["b a c"])).toEqual({ text: "b ", stopped: true });
  });

  it("passes everything through with no stops", () => {
    expect(run([], ["a", "b"])).toEqual({ text: "ab", stopped: false });
  });

  it("gives the same text however the output is split into tokens", () => {
    const alphabet = fc.constantFrom("a", "b", " ", "ab", "b a", "é");
    const word = fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((p) => p.join(""));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 3 }), fc.array(alphabet, { maxLength: 30 }), (stops, pieces) => {
        expect(run(stops, pieces)).toEqual(expected(stops, pieces.join("")));
      }),
      { numRuns: 2000 },
    );
  });
});
