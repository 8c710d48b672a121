import { describe, expect, it } from "vitest";
import { isRangeRefused, scanBlockRanges, type BlockRange } from "./scanBlockRanges.ts";

describe("isRangeRefused", () => {
  it("knows the public RPCs' words for a range too large, and not a rate limit or an outage", () => {
    for (const message of ["block range is too large", "query returned more than 10000 results", "exceed maximum block range: 5000", "Log response size exceeded.", "eth_getLogs is limited to a 2000 block range"]) {
      expect(isRangeRefused(new Error(message)), message).toBe(true);
    }
    for (const message of ["429 Too Many Requests", "rate limit exceeded", "fetch failed", "connection reset"]) {
      expect(isRangeRefused(new Error(message)), message).toBe(false);
    }
  });
});

describe("scanBlockRanges", () => {
  it("covers the span in order in ranges of at most maxRange, the last one short", async () => {
    const pages: BlockRange[] = [];
    const count = await scanBlockRanges({ fromBlock: 10n, toBlock: 34n, maxRange: 10, read: async (r) => r, onPage: (r) => void pages.push(r) });
    expect(count).toBe(3);
    expect(pages).toEqual([
      { fromBlock: 10n, toBlock: 19n },
      { fromBlock: 20n, toBlock: 29n },
      { fromBlock: 30n, toBlock: 34n },
    ]);
  });

  it("reads nothing for an empty span, and refuses a bound below one block", async () => {
    expect(await scanBlockRanges({ fromBlock: 5n, toBlock: 4n, maxRange: 10, read: async () => { throw new Error("read"); }, onPage: () => {} })).toBe(0);
    await expect(scanBlockRanges({ fromBlock: 0n, toBlock: 4n, maxRange: 0, read: async (r) => r, onPage: () => {} })).rejects.toThrow(RangeError);
  });

  it("throws what is not a size refusal at once, and a refusal of one block too", async () => {
    const asked: BlockRange[] = [];
    await expect(scanBlockRanges({ fromBlock: 0n, toBlock: 99n, maxRange: 50, read: async (r) => { asked.push(r); throw new Error("429 Too Many Requests"); }, onPage: () => {} })).rejects.toThrow("429");
    expect(asked).toHaveLength(1);
    await expect(scanBlockRanges({ fromBlock: 0n, toBlock: 0n, maxRange: 50, read: async () => { throw new Error("block range is too large"); }, onPage: () => {} })).rejects.toThrow("too large");
  });
});
