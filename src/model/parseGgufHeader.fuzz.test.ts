import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeGguf } from "./encodeGguf.ts";
import { fuzzRuns } from "../../test/helpers/fuzzRuns.ts";
import { generateTestModel } from "./generateTestModel.ts";
import { mutateBytes, type ByteMutation } from "../../test/helpers/mutateBytes.ts";
import { parseGgufHeader } from "./parseGgufHeader.ts";
import { parseOrRefuse } from "../../test/helpers/parseOrRefuse.ts";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The only ways the parser may fail. Anything else (RangeError from a DataView, a TypeError, an
// out-of-memory crash, a hang) is a bug that a crafted file could trigger.
const ALLOWED_CODES = new Set(["gguf_truncated", "gguf_invalid", "gguf_not_gguf", "gguf_unsupported_version", "gguf_header_incomplete"]);
// Generous for a 2-core CI machine; a real parse of these inputs takes microseconds.
const MAX_MS_PER_CASE = 250;
// GOTONG_FUZZ_RUNS sets the runs of every property below (see fuzzRuns).

const u32 = (value: number) => ({ type: "uint32", value }) as const;
const f32 = (name: string, dims: number[]) => ({ name, dims, type: 0, data: new Uint8Array(dims.reduce((a, b) => a * b, 1) * 4) });

/** A small valid file with every kind of value, so that mutations reach every branch. */
const seed = encodeGguf({
  metadata: [
    ["general.architecture", "llama"],
    ["general.name", "fuzz"],
    ["general.alignment", u32(32)],
    ["llama.context_length", u32(64)],
    ["u8", { type: "uint8", value: 7 }],
    ["i16", { type: "int16", value: -3 }],
    ["i64", { type: "int64", value: -5n }],
    ["f64", { type: "float64", value: 0.5 }],
    ["flag", true],
    ["tokens", { type: "array", elementType: "string", values: ["<unk>", "a", "bc", "▁the"] }],
    ["scores", { type: "array", elementType: "float32", values: Array.from({ length: 100 }, (_, i) => -i) }],
  ],
  tensors: [f32("token_embd.weight", [8, 4]), f32("blk.0.attn_norm.weight", [8]), { name: "q", dims: [32, 2], type: 8, data: new Uint8Array(68) }],
});

/** Values that sit on the edges parsers get wrong. */
const interesting64 = fc.constantFrom(0n, 1n, 2n, 31n, 32n, 33n, 255n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) + 1n, (1n << 62n), (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n);

const mutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("u64" as const), at: fc.nat(), value: fc.oneof(interesting64, fc.bigInt(0n, (1n << 64n) - 1n)) }),
  fc.record({ kind: fc.constant("u32" as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 3, 9, 12, 13, 42, 43, 0x7fffffff, 0xffffffff), fc.nat()) }),
  fc.record({ kind: fc.constant("truncate" as const), length: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);

/** Parses, and checks that the outcome is a header consistent with the file or an allowed GotongError. */
function check(bytes: Uint8Array, fileSize?: bigint): void {
  const header = parseOrRefuse(() => parseGgufHeader(bytes, fileSize === undefined ? {} : { fileSize }), ALLOWED_CODES, MAX_MS_PER_CASE);
  if (header === undefined) return;
  // What a successful parse returns is bounded by the file: nothing it reports lies outside it,
  // and it holds no more entries than the bytes could encode.
  const size = header.fileSize;
  if (BigInt(header.tensorCount) * 24n + BigInt(header.metadataCount) * 13n > size) throw new Error("counts exceed the file");
  for (const tensor of header.tensors) {
    if (header.dataOffset + tensor.offset + tensor.byteSize > size) throw new Error(`tensor ${tensor.name} passes the end`);
    if (tensor.offset % BigInt(header.alignment) !== 0n) throw new Error(`tensor ${tensor.name} is misaligned`);
  }
  let kept = 0;
  for (const entry of header.metadata.values()) if (entry.type === "array") kept += entry.value.values?.length ?? 0;
  if (BigInt(kept) > size) throw new Error("kept more array elements than the file has bytes");
}

describe("parseGgufHeader under fuzzing", () => {
  it("the seed file is valid", () => {
    expect(parseGgufHeader(seed).tensorCount).toBe(3);
  });

  it("random bytes: returns or throws a GotongError, quickly", () => {
    const prefixes = fc.constantFrom(new Uint8Array(0), new TextEncoder().encode("GGUF"), new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]), new Uint8Array([0x47, 0x47, 0x55, 0x46, 2, 0, 0, 0]));
    fc.assert(
      fc.property(prefixes, fc.uint8Array({ maxLength: 600 }), (prefix, rest) => {
        const bytes = new Uint8Array(prefix.length + rest.length);
        bytes.set(prefix);
        bytes.set(rest, prefix.length);
        check(bytes);
      }),
      { ...fuzzRuns(4000, 0x60706), endOnFailure: true },
    );
  });

  it("mutations of a valid header: returns or throws a GotongError, quickly", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => check(mutateBytes(seed, mutations))),
      { ...fuzzRuns(8000, 0x60707), endOnFailure: true },
    );
  });

  it("mutations of the generated model's header, parsed as a prefix of the real file size", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gotong-fuzz-"));
    try {
      const { path } = await generateTestModel(join(dir, "model.gguf"));
      const file = new Uint8Array(await readFile(path));
      const header = parseGgufHeader(file);
      const prefix = file.slice(0, Number(header.dataOffset));
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => check(mutateBytes(prefix, mutations), header.fileSize)),
        { ...fuzzRuns(1500, 0x60708), endOnFailure: true },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
