import { describe, expect, it } from "vitest";
import type { SseStream } from "../common/http.ts";
import { paceTokenWrites } from "./paceTokenWrites.ts";

/** An SseStream that records what reaches it. */
function recorder() {
  const got: { data: unknown; mark?: number }[] = [];
  const ended: string[] = [];
  const sse: SseStream = {
    send: (data, mark) => void got.push({ data, mark }),
    forward: () => {},
    sentMark: () => 0,
    whenWritable: () => undefined,
    end: (trailer = "") => void ended.push(trailer),
  };
  return { sse, got, ended };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("paceTokenWrites", () => {
  it("hands events up to the first token on at once, later ones after a turn and together within the window, in order", async () => {
    const { sse, got } = recorder();
    const paced = paceTokenWrites(sse, 50);
    paced.send("role"); // no mark: not a token, and before the first one: at once
    expect(got).toEqual([{ data: "role" }]);
    paced.send("t1", 1);
    expect(got.map((e) => e.data)).toEqual(["role", "t1"]);
    paced.send("t2", 2);
    paced.send("t3", 3);
    await turn();
    await turn();
    expect(got.map((e) => e.data)).toEqual(["role", "t1"]); // within the window: held
    await new Promise((resolve) => setTimeout(resolve, 70));
    expect(got).toEqual([{ data: "role" }, { data: "t1", mark: 1 }, { data: "t2", mark: 2 }, { data: "t3", mark: 3 }]);
  });

  it("hands everything on before the end", () => {
    const { sse, got, ended } = recorder();
    const paced = paceTokenWrites(sse, 50);
    paced.send("t1", 1);
    paced.send("t2", 2);
    paced.send("final");
    paced.end("trailer");
    expect(got.map((e) => e.data)).toEqual(["t1", "t2", "final"]);
    expect(ended).toEqual(["trailer"]);
  });

  it("without a window, waits one turn only", async () => {
    const { sse, got } = recorder();
    const paced = paceTokenWrites(sse, 0);
    paced.send("t1", 1);
    paced.send("t2", 2);
    expect(got.length).toBe(1);
    await turn();
    expect(got.map((e) => e.data)).toEqual(["t1", "t2"]);
  });
});
