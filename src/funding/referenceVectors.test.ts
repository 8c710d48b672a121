import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateReferenceVectors, renderReferenceVectors } from "./referenceVectors.ts";

const SEED = 20_261_122n;
const COUNT = 32;
const file = join(import.meta.dirname, "../../contracts/test/utils/ReferenceVectors.sol");

describe("reference vectors for the Foundry suite", () => {
  it("are what the TypeScript reference computes now (the Solidity file is up to date)", () => {
    const vectors = generateReferenceVectors(SEED, COUNT);
    // The vectors are worth replaying: most rounds match something, some hit the cap, some weigh usage.
    expect(vectors.filter((v) => v.donationMatches.some((m) => m > 0n)).length).toBeGreaterThan(COUNT / 3);
    expect(vectors.filter((v) => v.usageMatches.some((m) => m > 0n)).length).toBeGreaterThan(2);
    expect(vectors.filter((v) => v.matchingCapBps < 10_000 && v.donationMatches.some((m) => m > 0n)).length).toBeGreaterThan(2);
    const rendered = renderReferenceVectors(vectors, SEED);
    if (process.env.GOTONG_UPDATE_VECTORS === "1" || !existsSync(file)) writeFileSync(file, rendered);
    expect(readFileSync(file, "utf8"), "regenerate with GOTONG_UPDATE_VECTORS=1").toBe(rendered);
  });
});
