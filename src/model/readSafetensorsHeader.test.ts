import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSafetensors } from "./encodeSafetensors.ts";
import { gotongRejectionOf } from "../../test/helpers/gotongErrorOf.ts";
import { readSafetensorsHeader } from "./readSafetensorsHeader.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-safetensors-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const codeOf = async (promise: Promise<unknown>) => (await gotongRejectionOf(promise)).code;

/** A sparse file of `size` bytes whose first 8 bytes claim a header of `claimed` bytes. */
async function sparse(name: string, size: number, claimed: bigint, json = ""): Promise<string> {
  const path = join(dir, name);
  const handle = await open(path, "w");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(claimed);
  await handle.write(prefix, 0, 8, 0);
  if (json) await handle.write(Buffer.from(json), 0, json.length, 8);
  await handle.truncate(size);
  await handle.close();
  return path;
}

describe("readSafetensorsHeader", () => {
  it("reads a file's header without reading its data", async () => {
    const path = join(dir, "ok.safetensors");
    await writeFile(path, encodeSafetensors([{ name: "w", dtype: "F32", shape: [64, 64] }], { architecture: "llama" }));
    const header = await readSafetensorsHeader(path);
    expect(header.tensors[0]).toMatchObject({ name: "w", dtype: "F32", shape: [64, 64], begin: 0n, end: 16384n });
    expect(header.metadata.architecture).toBe("llama");
  });

  it("refuses a header length over 100 MB or over the file before allocating it", async () => {
    const before = process.memoryUsage().arrayBuffers;
    expect(await codeOf(readSafetensorsHeader(await sparse("huge.safetensors", 300_000_000, 200_000_000n)))).toBe("safetensors_header_too_large");
    expect(await codeOf(readSafetensorsHeader(await sparse("short.safetensors", 1_000, 5_000n)))).toBe("safetensors_truncated");
    expect(await codeOf(readSafetensorsHeader(await sparse("max.safetensors", 1_000, (1n << 64n) - 1n)))).toBe("safetensors_header_too_large");
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(10_000_000);
  });

  it("reads exactly the header a large sparse file claims, and checks it", async () => {
    // 1 MB of header that is "{" then zeros: read (the file justifies it), then refused as bad JSON.
    expect(await codeOf(readSafetensorsHeader(await sparse("zeros.safetensors", 2_000_000, 1_000_000n, "{")))).toBe("safetensors_invalid");
  });

  it("says clearly when the path is missing or a folder", async () => {
    expect(await codeOf(readSafetensorsHeader(join(dir, "nope.safetensors")))).toBe("model_file_not_found");
    expect(await codeOf(readSafetensorsHeader(dir))).toBe("model_file_unreadable");
  });

  it("can be cancelled", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(readSafetensorsHeader(join(dir, "ok.safetensors"), { signal: controller.signal })).rejects.toThrow("stop");
  });
});
