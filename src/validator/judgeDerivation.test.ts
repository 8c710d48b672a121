import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_DERIVATION_THRESHOLD, derivePrompts, judgeDerivation, type JudgeDerivationOptions } from "./judgeDerivation.ts";
import { quantizeGguf } from "../verification/quantizeGguf.ts";
import { haveSharedModels, sharedModelPath } from "../../test/fixtures/model/sharedModels.ts";
import { writeShuffledCopy } from "../../test/fixtures/model/writeShuffledCopy.ts";

/** Few prompts, short answers: the whole file runs in seconds; the defaults were measured with 8 × 48 (see judgeDerivation.ts). */
const QUICK: JudgeDerivationOptions = { seed: "0x6469737075746531", prompts: 4, maxTokens: 32 };

describe("derivePrompts", () => {
  it("draws the same story openings from the same seed, and others from another", () => {
    const prompts = derivePrompts("0x01", 4);
    expect(prompts).toEqual(derivePrompts("0x01", 4));
    expect(new Set(prompts).size).toBe(4);
    expect(derivePrompts("0x02", 4)).not.toEqual(prompts);
  });
});

describe("judgeDerivation on a file that is not a GGUF", () => {
  it("throws an error that names the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "judge-derivation-"));
    try {
      const path = join(dir, "notes.txt");
      await writeFile(path, "these are not the weights you are looking for\n".repeat(20));
      await expect(judgeDerivation(path, path, QUICK)).rejects.toThrow(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveSharedModels())("judgeDerivation on stories260K (1 thread)", () => {
  const parent = sharedModelPath("stories260K");
  let dir: string;
  const child = (name: string) => join(dir, `${name}.gguf`);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "judge-derivation-"));
    await quantizeGguf(parent, child("q8_0"), "Q8_0");
    await quantizeGguf(parent, child("q4_0"), "Q4_0");
    await writeShuffledCopy(parent, child("shuffled"));
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("judges a Q8_0 quantisation a derivative", async () => {
    const judgement = await judgeDerivation(parent, child("q8_0"), QUICK);
    console.log(`Q8_0: agreement ${judgement.agreement.toFixed(3)} over ${judgement.positions} positions`);
    expect(judgement, judgement.detail).toMatchObject({ derivative: true, sameFingerprint: true, reason: "derivative" });
    expect(judgement.agreement).toBeGreaterThan(0.95);
    expect(judgement.positions).toBeGreaterThanOrEqual(4 * 32);
  }, 30_000);

  it("judges a Q4_0 quantisation a derivative too: coarser, but still well above the threshold", async () => {
    const judgement = await judgeDerivation(parent, child("q4_0"), QUICK);
    console.log(`Q4_0: agreement ${judgement.agreement.toFixed(3)} over ${judgement.positions} positions`);
    expect(judgement, judgement.detail).toMatchObject({ derivative: true, sameFingerprint: true, reason: "derivative" });
    expect(judgement.agreement).toBeGreaterThanOrEqual(DEFAULT_DERIVATION_THRESHOLD);
  }, 30_000);

  it("judges a model of the same shapes and vocabulary with other weights not a derivative", async () => {
    const judgement = await judgeDerivation(parent, child("shuffled"), QUICK);
    console.log(`same shapes, shuffled weights: agreement ${judgement.agreement.toFixed(3)} over ${judgement.positions} positions`);
    expect(judgement, judgement.detail).toMatchObject({ derivative: false, sameFingerprint: true, reason: "outputs_differ" });
    expect(judgement.agreement).toBeLessThan(0.2);
  }, 30_000);

  it("judges llama-2-tiny-random not a derivative of stories260K from the fingerprints alone", async () => {
    const started = performance.now();
    const judgement = await judgeDerivation(parent, sharedModelPath("tinyRandom"), QUICK);
    expect(judgement.derivative).toBe(false);
    expect(judgement.sameFingerprint).toBe(false);
    expect(judgement.reason).toMatch(/^different_(architecture|vocabulary|tensors)$/);
    // No model was run: nothing compared, and far quicker than loading one.
    expect(judgement.positions).toBe(0);
    expect(judgement.prompts).toBe(0);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("gives the same judgement for the same seed", async () => {
    const first = await judgeDerivation(parent, child("q4_0"), QUICK);
    const second = await judgeDerivation(parent, child("q4_0"), QUICK);
    expect(second).toEqual(first);
  }, 30_000);
});
