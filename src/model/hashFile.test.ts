import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveSharedModels, SHARED_MODELS, sharedModelPath } from "../../test/fixtures/model/sharedModels.ts";
import { hashFile } from "./hashFile.ts";
import { sha256Hex } from "./sha256Hex.ts";

const shared = haveSharedModels();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-hash-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hashFile", () => {
  for (const name of ["stories260K", "tinyRandom"] as const) {
    it.skipIf(!shared)(`matches the published sha256 of ${SHARED_MODELS[name].file}`, async () => {
      const progress: [number, number][] = [];
      const hash = await hashFile(sharedModelPath(name), { onProgress: (done, total) => progress.push([done, total]) });
      expect(hash).toBe(SHARED_MODELS[name].sha256);
      expect(hash).toBe(execFileSync("sha256sum", [sharedModelPath(name)], { encoding: "utf8" }).split(" ")[0]);
      expect(progress.at(0)).toEqual([0, SHARED_MODELS[name].bytes]);
      expect(progress.at(-1)).toEqual([SHARED_MODELS[name].bytes, SHARED_MODELS[name].bytes]);
    });
  }

  it("hashes an empty file and a multi-chunk file like sha256Hex does", async () => {
    const empty = join(dir, "empty");
    await writeFile(empty, "");
    expect(await hashFile(empty)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    const big = join(dir, "big");
    await writeFile(big, data);
    const chunks: number[] = [];
    expect(await hashFile(big, { onProgress: (done) => chunks.push(done) })).toBe(sha256Hex(data));
    expect(chunks.length).toBeGreaterThan(3);
  });

  it("stops when aborted", async () => {
    const big = join(dir, "abort");
    await writeFile(big, new Uint8Array(8 * 1024 * 1024));
    const controller = new AbortController();
    const promise = hashFile(big, { signal: controller.signal, onProgress: (done) => done > 0 && controller.abort() });
    await expect(promise).rejects.toMatchObject({ name: "AbortError" });
  });

  it("gives a clear error for a missing file", async () => {
    await expect(hashFile(join(dir, "missing"))).rejects.toMatchObject({ code: "model_file_not_found" });
    await expect(hashFile(dir)).rejects.toMatchObject({ code: "model_file_unreadable" });
  });
});
