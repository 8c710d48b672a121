import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import { haveSharedModels, sharedModelPath } from "../../test/fixtures/model/sharedModels.ts";
import { encodeGguf, type GgufWriteSpec, type GgufWriteTensor } from "./encodeGguf.ts";
import { generateTestModel, TEST_MODEL_NAME } from "./generateTestModel.ts";
import { gotongErrorOf } from "../../test/helpers/gotongErrorOf.ts";
import { parseGgufHeader } from "./parseGgufHeader.ts";
import { readGgufHeader } from "./readGgufHeader.ts";

const shared = haveSharedModels();
let dir: string;
let testModelPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-gguf-"));
  testModelPath = (await generateTestModel(join(dir, "test.gguf"))).path;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const codeOf = (fn: () => unknown) => gotongErrorOf(fn).code;

const u32 = (value: number) => ({ type: "uint32", value }) as const;
const f32Tensor = (name: string, dims: number[], extra: Partial<GgufWriteTensor> = {}) => ({
  name,
  dims,
  type: 0,
  data: new Uint8Array(dims.reduce((a, b) => a * b, 1) * 4),
  ...extra,
});
/** A small valid GGUF, to be broken in one place by each test. */
const base = (overrides: Partial<GgufWriteSpec> = {}): GgufWriteSpec => ({
  metadata: [
    ["general.architecture", "llama"],
    ["general.name", "tiny"],
    ["llama.context_length", u32(128)],
  ],
  tensors: [f32Tensor("a", [8, 2]), f32Tensor("b", [8])],
  ...overrides,
});
const u64le = (value: bigint) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
};
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};
const u32le = (value: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
};

describe("readGgufHeader on real models", () => {
  it.skipIf(!shared)("reads stories260K as llama.cpp does", async () => {
    const path = sharedModelPath("stories260K");
    const header = await readGgufHeader(path);
    const reference = await readGgufFileInfo(path, { readTensorInfo: true });
    expect(header.architecture).toBe("llama");
    expect(header.version).toBe(3);
    expect(header.tensorCount).toBe(48);
    expect(header.tensorCount).toBe(reference.totalTensorCount);
    expect(header.metadataCount).toBe(19);
    expect(header.contextLength).toBe(2048);
    expect(header.fileSize).toBe(1185376n);
    expect(header.dataOffset + header.tensorDataBytes).toBe(header.fileSize);
    expect(header.tensors.map((t) => [t.name, t.dims.map(Number), t.type, t.offset])).toEqual(
      reference.fullTensorInfo!.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType, BigInt(t.offset)]),
    );
    const tokens = header.metadata.get("tokenizer.ggml.tokens");
    expect(tokens).toEqual({ type: "array", value: { elementType: "string", length: 512 } });
  });

  it.skipIf(!shared)("reads llama-2-tiny-random (F16 weights, 32k vocabulary) as llama.cpp does", async () => {
    const path = sharedModelPath("tinyRandom");
    const header = await readGgufHeader(path);
    const reference = await readGgufFileInfo(path, { readTensorInfo: true });
    expect(header.architecture).toBe("llama");
    expect(header.name).toBe("LLaMA v2");
    expect(header.tensorCount).toBe(12);
    expect(header.tensorCount).toBe(reference.totalTensorCount);
    expect(header.tensors.map((t) => t.name)).toEqual(reference.fullTensorInfo!.map((t) => t.name));
    expect(header.tensors.find((t) => t.name === "token_embd.weight")).toMatchObject({ typeName: "F16", dims: [8n, 32000n], byteSize: 512000n });
    expect(header.contextLength).toBe(4096);
  });

  it.skipIf(!shared)("keeps a big array only when asked", async () => {
    const header = await readGgufHeader(sharedModelPath("tinyRandom"), { keepArrays: ["tokenizer.ggml.tokens"] });
    const tokens = header.metadata.get("tokenizer.ggml.tokens")!.value as { values: string[] };
    expect(tokens.values).toHaveLength(32000);
    expect(tokens.values.slice(0, 4)).toEqual(["<unk>", "<s>", "</s>", "<0x00>"]);
    expect((header.metadata.get("tokenizer.ggml.scores")!.value as { values?: unknown }).values).toBeUndefined();
  });

  it("reads the generated test model", async () => {
    const header = await readGgufHeader(testModelPath, { keepArrays: true });
    expect(header.architecture).toBe("llama");
    expect(header.name).toBe(TEST_MODEL_NAME);
    expect(header.tensorCount).toBe(2 + 2 * 9 + 1);
    expect(header.contextLength).toBe(2048);
    expect(header.parameterCount).toBeGreaterThan(100_000);
    const tokens = header.metadata.get("tokenizer.ggml.tokens")!.value as { values: string[] };
    expect(tokens.values[3]).toBe("<0x00>");
    expect(tokens.values).toContain("▁the");
  });

  it("reads a header larger than its first read, and refuses one beyond maxHeaderBytes", async () => {
    const tokens = Array.from({ length: 150_000 }, (_, i) => `token-${i}`);
    const path = join(dir, "big-header.gguf");
    await writeFile(path, encodeGguf(base({ metadata: [["tokenizer.ggml.tokens", { type: "array", elementType: "string", values: tokens }]] })));
    const header = await readGgufHeader(path);
    expect(header.dataOffset).toBeGreaterThan(2n * 1024n * 1024n);
    expect(header.metadata.get("tokenizer.ggml.tokens")!.value).toEqual({ elementType: "string", length: 150_000 });
    await expect(readGgufHeader(path, { maxHeaderBytes: 1 << 20 })).rejects.toMatchObject({ code: "gguf_header_too_large" });
  });

  it("reads the header of a 4 GiB file without reading its data", async () => {
    const path = join(dir, "sparse.gguf");
    const dims = [4096n, 262144n]; // 2^30 F32 elements: 4 GiB of data
    const header = encodeGguf(base({ tensors: [{ name: "w", dims, type: 0, data: new Uint8Array(0) }] }));
    await writeFile(path, header);
    const dataOffset = parseGgufHeader(header, { fileSize: 1n << 40n }).dataOffset;
    await truncate(path, Number(dataOffset + (1n << 32n))); // sparse: takes no disk space
    const before = process.memoryUsage().rss;
    const read = await readGgufHeader(path);
    expect(read.fileSize).toBe(dataOffset + (1n << 32n));
    expect(read.tensors[0]).toMatchObject({ byteSize: 1n << 32n, elementCount: 1n << 30n });
    expect(read.parameterCount).toBe(2 ** 30);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("says which file is missing", async () => {
    await expect(readGgufHeader(join(dir, "nope.gguf"))).rejects.toMatchObject({ code: "model_file_not_found" });
  });
});

describe("readGgufHeader on truncated files", () => {
  it("refuses every prefix of the generated model that cuts the header or the data", async () => {
    const bytes = new Uint8Array(await readFile(testModelPath));
    const full = parseGgufHeader(bytes);
    const end = Number(full.dataOffset + full.tensorDataBytes);
    const lengths = new Set<number>();
    for (let n = 0; n <= Number(full.dataOffset) + 64; n++) lengths.add(n); // every cut inside the header
    for (let n = Number(full.dataOffset); n < end; n += 997) lengths.add(n); // a sample inside the data
    lengths.add(end - 1);
    for (const n of lengths) {
      const code = codeOf(() => parseGgufHeader(bytes.subarray(0, n)));
      expect(["gguf_truncated", "gguf_invalid"], `prefix of ${n} bytes gave ${code}`).toContain(code);
    }
    expect(lengths.size).toBeGreaterThan(6000);
  });

  it.skipIf(!shared)("refuses truncated copies of stories260K on disk", async () => {
    const bytes = await readFile(sharedModelPath("stories260K"));
    for (const n of [0, 1, 3, 4, 8, 16, 24, 100, 5000, 14000, 14176, 500_000, bytes.length - 1]) {
      const path = join(dir, `cut-${n}.gguf`);
      await writeFile(path, bytes.subarray(0, n));
      const error = await readGgufHeader(path).catch((e: unknown) => e);
      expect(isGotongError(error), `prefix ${n}: ${String(error)}`).toBe(true);
      expect(["gguf_truncated", "gguf_invalid"]).toContain((error as { code: string }).code);
    }
  });
});

describe("readGgufHeader on files that are not GGUF", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["a text file", new TextEncoder().encode("hello, this is not a model\n"), /text file/],
    ["a PyTorch zip checkpoint", concat(new Uint8Array([0x50, 0x4b, 3, 4]), new Uint8Array(22), new Uint8Array([16, 0, 0, 0]), new TextEncoder().encode("archive/data.pkl")), /zip archive/],
    ["a pickle", new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]), /pickle/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`refuses ${what} with gguf_not_gguf`, async () => {
      const path = join(dir, `not-gguf-${what.replace(/\W/g, "")}.gguf`);
      await writeFile(path, bytes);
      const error = await readGgufHeader(path).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "gguf_not_gguf", message: expect.stringMatching(message) });
      if (what !== "a text file") expect((error as { hint: string }).hint).toMatch(/arbitrary code.*(GGUF|safetensors)/s);
    });
  }
});

describe("parseGgufHeader refuses crafted headers", () => {
  const parse = (spec: GgufWriteSpec) => codeOf(() => parseGgufHeader(encodeGguf(spec)));

  it("accepts the base file", () => {
    const header = parseGgufHeader(encodeGguf(base()));
    expect(header.tensors.map((t) => t.offset)).toEqual([0n, 64n]);
    expect(header.contextLength).toBe(128);
  });
  it("tensor count 2^63", () => expect(parse(base({ tensorCount: 1n << 63n }))).toBe("gguf_invalid"));
  it("tensor count 2^64-1", () => expect(parse(base({ tensorCount: (1n << 64n) - 1n }))).toBe("gguf_invalid"));
  it("tensor count beyond what the file could hold", () => expect(parse(base({ tensorCount: 1n << 40n }))).toBe("gguf_truncated"));
  it("metadata count 2^63", () => expect(parse(base({ metadataCount: 1n << 63n }))).toBe("gguf_invalid"));
  it("metadata count larger than the entries present", () => expect(["gguf_truncated", "gguf_invalid"]).toContain(parse(base({ metadataCount: 4n }))));
  it("string length beyond the file", () =>
    expect(parse(base({ metadata: [["general.name", { rawType: 8, bytes: concat(u64le(1_000_000_000n), new Uint8Array(4)) }]] }))).toBe("gguf_truncated"));
  it("string length 2^64-1", () =>
    expect(parse(base({ metadata: [["general.name", { rawType: 8, bytes: u64le((1n << 64n) - 1n) }]] }))).toBe("gguf_invalid"));
  it("key length beyond the file", () => {
    const bytes = encodeGguf(base());
    new DataView(bytes.buffer).setBigUint64(24, 1n << 50n, true); // the first key's length
    expect(codeOf(() => parseGgufHeader(bytes))).toBe("gguf_truncated");
  });
  it("huge array", () =>
    expect(parse(base({ metadata: [["x", { rawType: 9, bytes: concat(u32le(10), u64le(1n << 40n)) }]] }))).toBe("gguf_truncated"));
  it("array length 2^63", () =>
    expect(parse(base({ metadata: [["x", { rawType: 9, bytes: concat(u32le(0), u64le(1n << 63n)) }]] }))).toBe("gguf_invalid"));
  it("nested arrays", () =>
    expect(parse(base({ metadata: [["x", { rawType: 9, bytes: concat(u32le(9), u64le(1n)) }]] }))).toBe("gguf_invalid"));
  it("unknown value type", () => {
    expect(parse(base({ metadata: [["x", { rawType: 13, bytes: new Uint8Array(8) }]] }))).toBe("gguf_invalid");
    expect(parse(base({ metadata: [["x", { rawType: 0xffffffff, bytes: new Uint8Array(8) }]] }))).toBe("gguf_invalid");
  });
  it("unknown array element type", () =>
    expect(parse(base({ metadata: [["x", { rawType: 9, bytes: concat(u32le(77), u64le(0n)) }]] }))).toBe("gguf_invalid"));
  it("bool that is neither 0 nor 1", () => expect(parse(base({ metadata: [["x", { rawType: 7, bytes: new Uint8Array([2]) }]] }))).toBe("gguf_invalid"));
  it("duplicate key", () =>
    expect(parse(base({ metadata: [["general.name", "a"], ["general.name", "b"]] }))).toBe("gguf_invalid"));
  it("empty key and key that is not UTF-8", () => {
    expect(parse(base({ metadata: [["", "a"]] }))).toBe("gguf_invalid");
    const bytes = encodeGguf(base({ metadata: [["k\u00e9", "a"]] }));
    bytes[24 + 8 + 1] = 0xff; // break the é
    expect(codeOf(() => parseGgufHeader(bytes))).toBe("gguf_invalid");
  });
  it("alignment 0, 3, huge, or of the wrong type", () => {
    for (const alignment of [0, 3, 48, 1 << 30]) {
      expect(parse(base({ metadata: [["general.alignment", u32(alignment)]], alignment: 32 }))).toBe("gguf_invalid");
    }
    expect(parse(base({ metadata: [["general.alignment", { type: "uint64", value: 32n }]] }))).toBe("gguf_invalid");
  });
  it("accepts alignment 64", () => {
    const header = parseGgufHeader(encodeGguf(base({ metadata: [["general.alignment", u32(64)]] })));
    expect(header.alignment).toBe(64);
    expect(header.dataOffset % 64n).toBe(0n);
  });
  it("duplicate tensor name", () => expect(parse(base({ tensors: [f32Tensor("a", [8]), f32Tensor("a", [8])] }))).toBe("gguf_invalid"));
  it("tensor name longer than ggml allows", () => expect(parse(base({ tensors: [f32Tensor("n".repeat(64), [8])] }))).toBe("gguf_invalid"));
  it("more than 4 dimensions", () => expect(parse(base({ tensors: [f32Tensor("a", [1, 1, 1, 1, 8])] }))).toBe("gguf_invalid"));
  it("dimensions whose product overflows", () => {
    const data = new Uint8Array(0);
    expect(parse(base({ tensors: [{ name: "a", dims: [1n << 32n, 1n << 32n], type: 0, data }] }))).toBe("gguf_invalid");
    expect(parse(base({ tensors: [{ name: "a", dims: [1n << 31n, 1n << 31n, 4n], type: 0, data }] }))).toBe("gguf_invalid");
    expect(parse(base({ tensors: [{ name: "a", dims: [1n << 63n], type: 0, data }] }))).toBe("gguf_invalid");
  });
  it("dimensions whose byte size overflows", () =>
    expect(parse(base({ tensors: [{ name: "a", dims: [1n << 62n], type: 0, data: new Uint8Array(0) }] }))).toBe("gguf_invalid"));
  it("dimensions that pass the end of the file", () =>
    expect(parse(base({ tensors: [{ name: "a", dims: [1n << 20n, 1n << 20n], type: 0, data: new Uint8Array(0) }] }))).toBe("gguf_truncated"));
  it("rows that are not whole quantization blocks", () =>
    expect(parse(base({ tensors: [{ name: "a", dims: [16], type: 12, data: new Uint8Array(144) }] }))).toBe("gguf_invalid"));
  it("unknown or removed ggml type", () => {
    for (const type of [4, 31, 36, 43, 1000, 0xffffffff]) {
      expect(parse(base({ tensors: [{ name: "a", dims: [8], type, data: new Uint8Array(32) }] }))).toBe("gguf_invalid");
    }
  });
  it("tensor data offset past the end", () =>
    expect(parse(base({ tensors: [f32Tensor("a", [8], { offset: 1n << 40n })] }))).toBe("gguf_truncated"));
  it("tensor data offset near 2^64", () =>
    expect(["gguf_truncated", "gguf_invalid"]).toContain(parse(base({ tensors: [f32Tensor("a", [8], { offset: (1n << 64n) - 32n })] }))));
  it("misaligned tensor data offset", () =>
    expect(parse(base({ tensors: [f32Tensor("a", [8]), f32Tensor("b", [8], { offset: 36n })] }))).toBe("gguf_invalid"));
  it("overlapping tensors", () =>
    expect(parse(base({ tensors: [f32Tensor("a", [16]), f32Tensor("b", [8], { offset: 32n })] }))).toBe("gguf_invalid"));
  it("versions other than 2 and 3, and big-endian files", () => {
    expect(parse(base({ version: 1 }))).toBe("gguf_unsupported_version");
    expect(parse(base({ version: 4 }))).toBe("gguf_unsupported_version");
    expect(parse(base({ version: 0x03000000 }))).toBe("gguf_unsupported_version");
    expect(parseGgufHeader(encodeGguf(base({ version: 2 }))).version).toBe(2);
  });
  it("refuses all of these quickly, without allocating what the header claims", () => {
    const before = process.memoryUsage().heapUsed;
    const started = performance.now();
    for (let i = 0; i < 200; i++) {
      parse(base({ tensorCount: (1n << 63n) - 1n }));
      parse(base({ metadata: [["x", { rawType: 9, bytes: concat(u32le(8), u64le((1n << 62n) + 1n)) }]] }));
      parse(base({ tensors: [{ name: "a", dims: [1n << 21n, 1n << 21n, 1n << 20n], type: 0, data: new Uint8Array(0) }] }));
    }
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });
});
