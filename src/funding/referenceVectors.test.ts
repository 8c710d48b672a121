import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { generateReferenceVectors, renderReferenceVectors } from "../../test/helpers/referenceVectors.ts";

const SEED = 20_261_122n;
const COUNT = 32;
const file = join(import.meta.dirname, "../../contracts/test/utils/ReferenceVectors.sol");
const REGENERATE = "GOTONG_UPDATE_VECTORS=1 npx vitest run src/funding/referenceVectors.test.ts";

describe("reference vectors for the Foundry suite", () => {
  it("are what the TypeScript reference computes now (the Solidity file is up to date)", () => {
    const vectors = generateReferenceVectors(SEED, COUNT);
    // The vectors are worth replaying: most rounds match something, some hit the cap, some weigh usage.
    expect(vectors.filter((v) => v.donationMatches.some((m) => m > 0n)).length).toBeGreaterThan(COUNT / 3);
    expect(vectors.filter((v) => v.usageMatches.some((m) => m > 0n)).length).toBeGreaterThan(2);
    expect(vectors.filter((v) => v.matchingCapBps < 10_000 && v.donationMatches.some((m) => m > 0n)).length).toBeGreaterThan(2);
    const rendered = renderReferenceVectors(vectors, SEED);
    if (process.env.GOTONG_UPDATE_VECTORS === "1") {
      // Regenerating on purpose: the file is written, not compared with itself; commit it.
      writeFileSync(file, rendered);
      return;
    }
    // The file is committed test data: a missing one is a failure, never written here (the
    // comparison below would then hold by construction and check nothing).
    const name = relative(join(import.meta.dirname, "../.."), file);
    expect(existsSync(file), `${name} is missing: it is committed test data the Foundry suite replays. Regenerate it on purpose with \`${REGENERATE}\` and commit it`).toBe(true);
    expect(readFileSync(file, "utf8"), `${name} is out of date with the TypeScript reference: regenerate it with \`${REGENERATE}\``).toBe(rendered);
  });
});
