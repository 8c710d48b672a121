import { describe, expect, it } from "vitest";
import type { BatchItem, Token } from "node-llama-cpp";
import { prioritizeStreams } from "./prioritizeStreams.ts";

const item = (tokens: number, evaluationPriority = 5): BatchItem => ({ tokens: Array.from({ length: tokens }, (_, i) => i as Token), logits: [], evaluationPriority: evaluationPriority as BatchItem["evaluationPriority"] });
const amounts = (items: BatchItem[], size: number) => {
  const granted = prioritizeStreams({ items, size });
  return items.map((i) => granted.find((g) => g.item === i)?.processAmount ?? 0);
};

describe("prioritizeStreams", () => {
  it("serves every stream's token and gives a prompt queued before them only the rest of the batch", () => {
    const prompt = item(497);
    const streams = [item(1), item(1), item(1)];
    expect(amounts([prompt, ...streams], 16)).toEqual([13, 1, 1, 1]);
  });

  it("never grants more than the batch, nor more than an item waits with", () => {
    for (const [lengths, size] of [[[500, 300, 1, 1], 64], [[3, 2], 64], [[40, 40, 40], 16], [[1, 1, 1, 1, 1], 3]] as const) {
      const items = lengths.map((n) => item(n));
      const got = amounts(items, size);
      expect(got.reduce((a, b) => a + b, 0)).toBe(Math.min(size, lengths.reduce((a, b) => a + b, 0)));
      got.forEach((n, i) => expect(n).toBeLessThanOrEqual(lengths[i]!));
    }
  });

  it("splits what the streams leave evenly between two prompts", () => {
    expect(amounts([item(500), item(300), item(1), item(1)], 64)).toEqual([31, 31, 1, 1]);
  });

  it("when the batch is smaller than the demands, serves the shortest and the most urgent first, in queue order otherwise", () => {
    expect(amounts([item(1), item(1, 9), item(1), item(200)], 2)).toEqual([1, 1, 0, 0]);
    expect(amounts([item(1), item(1), item(1)], 2)).toEqual([1, 1, 0]);
  });
});
