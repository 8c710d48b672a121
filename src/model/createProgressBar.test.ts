// Tests for src/common/progress.ts, kept beside its first users (pull and hashing) in src/model.
import { describe, expect, it } from "vitest";
import { createProgressBar } from "../common/progress.ts";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 120, write: (chunk: string) => (writes.push(chunk), true) } as unknown as NodeJS.WritableStream };
}

describe("createProgressBar", () => {
  it("redraws one line in place on a terminal, with bytes, percent and rate", () => {
    const { writes, stream } = fakeStream(true);
    let now = 0;
    const bar = createProgressBar("pull tiny.gguf", 4 * 1024 * 1024, { stream, now: () => now });
    for (let i = 1; i <= 40; i++) {
      now += 50;
      bar.update(i * 100 * 1024);
    }
    bar.done();
    expect(writes.every((w) => w.startsWith("\r"))).toBe(true);
    expect(writes.length).toBeLessThan(30); // throttled to every 100 ms
    const last = writes.at(-1)!;
    expect(last).toMatch(/pull tiny\.gguf {2}3\.9 MiB \/ 4\.0 MiB {2}97\.7% {2}2\.0 MiB\/s/);
    expect(last.endsWith("\n")).toBe(true);
  });

  it("prints sparse whole lines when not on a terminal", () => {
    const { writes, stream } = fakeStream(false);
    let now = 0;
    const bar = createProgressBar("hash", 1000, { stream, now: () => now, unit: "items" });
    for (let i = 1; i <= 1000; i++) {
      now += 20; // 20 s in all
      bar.update(i);
    }
    bar.done();
    bar.done();
    expect(writes.length).toBeLessThanOrEqual(6); // one every 5 s, plus the final line
    expect(writes.every((w) => w.endsWith("\n") && !w.includes("\r"))).toBe(true);
    expect(writes.at(-1)).toMatch(/^hash {2}1000 \/ 1000 {2}100\.0%/);
  });

  it("works without a known total", () => {
    const { writes, stream } = fakeStream(false);
    const bar = createProgressBar("pull", undefined, { stream, now: () => 1000 });
    bar.update(2048);
    bar.done();
    expect(writes.at(-1)).toBe("pull  2.0 KiB\n");
  });
});
