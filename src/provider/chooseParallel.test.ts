import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { haveSharedModels, sharedModelPath } from "../../test/fixtures/model/sharedModels.ts";
import { chooseParallel, MAX_PARALLEL } from "./chooseParallel.ts";

const dir = mkdtempSync(join(tmpdir(), "gotong-parallel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveSharedModels())("chooseParallel", () => {
  it("measures once per model, machine and thread count, remembers the answer, and reads it back without measuring", async () => {
    const cacheFile = join(dir, "parallel.json");
    const options = { modelPath: sharedModelPath("stories260K"), weightsHash: "0xabc", threads: 1, contextSize: 512, cacheFile, tokens: 16 };
    const measured = await chooseParallel(options);
    expect([1, 2, 4, 8, 16]).toContain(measured);
    expect(measured).toBeLessThanOrEqual(MAX_PARALLEL);
    const key = `0xabc:${availableParallelism()}:1`;
    expect(JSON.parse(readFileSync(cacheFile, "utf8"))).toEqual({ [key]: measured });
    // A remembered answer is used as it is: the model is not even read (a missing file would throw).
    writeFileSync(cacheFile, JSON.stringify({ [key]: 3 }));
    expect(await chooseParallel({ ...options, modelPath: join(dir, "absent.gguf") })).toBe(3);
    // Another thread count is another measurement.
    await expect(chooseParallel({ ...options, threads: 2, modelPath: join(dir, "absent.gguf") })).rejects.toThrow();
  }, 120_000);
});
