import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeSafetensors } from "./encodeSafetensors.ts";
import { fuzzRuns } from "../../test/helpers/fuzzRuns.ts";
import { mutateBytes, type ByteMutation } from "../../test/helpers/mutateBytes.ts";
import { parseOrRefuse } from "../../test/helpers/parseOrRefuse.ts";
import { parseSafetensorsHeader } from "./parseSafetensorsHeader.ts";
import { SAFETENSORS_DTYPE_BITS } from "./safetensorsDtypeBits.ts";

// The only ways the parser may fail. Anything else (a RangeError, a TypeError, an out-of-memory
// crash, a hang) is a bug a crafted file could trigger.
const ALLOWED_CODES = new Set(["safetensors_truncated", "safetensors_invalid", "safetensors_header_too_large", "safetensors_header_incomplete"]);
// Generous for a 2-core CI machine; a parse of these inputs takes microseconds.
const MAX_MS_PER_CASE = 250;
// GOTONG_FUZZ_RUNS sets the runs of every property below (see fuzzRuns); the defaults add up to 10,500.

/** A valid file with every kind of tensor, so that mutations reach every branch. */
const seed = encodeSafetensors(
  [
    { name: "model.embed_tokens.weight", dtype: "F32", shape: [8, 4] },
    { name: "model.layers.0.norm", dtype: "BF16", shape: [4] },
    { name: "scalar", dtype: "F64", shape: [] },
    { name: "empty", dtype: "I64", shape: [0, 3] },
    { name: "packed", dtype: "F4", shape: [2, 3] },
    { name: "six", dtype: "F6_E2M3", shape: [4] },
    { name: "flags", dtype: "BOOL", shape: [3] },
  ],
  { architecture: "llama", format: "pt", "context_length": "64" },
);
const seedHeader = parseSafetensorsHeader(seed);
const seedJson = seed.subarray(8, seedHeader.dataOffset);
const seedData = seed.subarray(seedHeader.dataOffset);

/** Parses and checks that the outcome is a header that tiles the file exactly, or an allowed GotongError. */
function check(bytes: Uint8Array, fileSize?: bigint): void {
  const header = parseOrRefuse(() => parseSafetensorsHeader(bytes, fileSize === undefined ? {} : { fileSize }), ALLOWED_CODES, MAX_MS_PER_CASE);
  if (header === undefined) return;
  if (BigInt(header.dataOffset) + header.dataSize !== header.fileSize) throw new Error("data section does not end at the end of the file");
  let at = 0n;
  for (const tensor of header.tensors) {
    if (tensor.begin !== at) throw new Error(`tensor ${tensor.name} does not start where the previous one ended`);
    if ((tensor.elementCount * BigInt(SAFETENSORS_DTYPE_BITS[tensor.dtype])) / 8n !== tensor.end - tensor.begin) throw new Error(`tensor ${tensor.name} size disagrees with its shape`);
    at = tensor.end;
  }
  if (at !== header.dataSize) throw new Error("tensors do not cover the data section exactly");
}

// Characters that change JSON structure or numbers are worth more than random bytes.
const interestingByte = fc.constantFrom(...[..."{}[]\",:\\0123456789-.eE un"].map((c) => c.charCodeAt(0)), 0x00, 0x80, 0xc0, 0xed, 0xff);

const mutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.oneof(interestingByte, fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.array(interestingByte, { minLength: 1, maxLength: 8 }).map((a) => new Uint8Array(a))) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant("truncate" as const), length: fc.nat() }),
);

/** A length prefix, the JSON and the data, as one file. */
function assemble(json: Uint8Array, data: Uint8Array, length = BigInt(json.length)): Uint8Array {
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const interestingLength = fc.constantFrom(0n, 1n, 2n, 7n, 8n, 100_000_000n, 100_000_001n, (1n << 53n) + 1n, (1n << 63n) - 1n, (1n << 64n) - 1n);
const interestingNumber = fc.constantFrom(0, 1, 2, 3, 7, 8, 255, 256, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -1, 1.5, 1e308);

describe("parseSafetensorsHeader under fuzzing", () => {
  it("the seed file is valid", () => {
    expect(seedHeader.tensors).toHaveLength(7);
  });

  it("random bytes behind a plausible length prefix: returns or throws a GotongError, quickly", () => {
    fc.assert(
      fc.property(fc.oneof(interestingLength, fc.bigInt(0n, 700n)), fc.boolean(), fc.uint8Array({ maxLength: 600 }), (length, brace, rest) => {
        const body = brace ? new Uint8Array([0x7b, ...rest]) : rest;
        check(assemble(body, new Uint8Array(0), length));
      }),
      { ...fuzzRuns(2500, 0x5afe1), endOnFailure: true },
    );
  });

  it("mutations of a valid file, length prefix included: returns or throws a GotongError, quickly", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => check(mutateBytes(seed, mutations))),
      { ...fuzzRuns(2500, 0x5afe2), endOnFailure: true },
    );
  });

  it("mutations of the header JSON with a matching length prefix: returns or throws a GotongError, quickly", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.integer({ min: -8, max: 8 }), (mutations, dataDelta) => {
        const json = mutateBytes(seedJson, mutations);
        const data = dataDelta >= 0 ? new Uint8Array([...seedData, ...new Uint8Array(dataDelta)]) : seedData.subarray(0, seedData.length + dataDelta);
        check(assemble(json, data));
      }),
      { ...fuzzRuns(3000, 0x5afe3), endOnFailure: true },
    );
  });

  it("generated headers with hostile shapes, offsets and dtypes: returns or throws a GotongError, quickly", () => {
    const dtype = fc.oneof(fc.constantFrom(...Object.keys(SAFETENSORS_DTYPE_BITS)), fc.constantFrom("Q4_K", "f32", "", "__proto__", "constructor"));
    const dim = fc.oneof(fc.integer({ min: 0, max: 16 }), interestingNumber);
    const tensor = fc.record({
      name: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__metadata__", "__proto__", "a", "a")),
      dtype,
      shape: fc.oneof(fc.array(dim, { maxLength: 5 }), fc.constant("x"), fc.array(fc.constant(2), { minLength: 60, maxLength: 70 })),
      // How far this tensor's offsets stray from where the previous one ended.
      beginDelta: fc.oneof(fc.constant(0), fc.integer({ min: -4, max: 4 }), interestingNumber),
      endDelta: fc.oneof(fc.constant(0), fc.integer({ min: -4, max: 4 }), interestingNumber),
    });
    fc.assert(
      fc.property(fc.array(tensor, { maxLength: 8 }), fc.integer({ min: -4, max: 4 }), fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer())), { nil: undefined }), (tensors, sizeDelta, metadata) => {
        const header: Record<string, unknown> = {};
        if (metadata) header.__metadata__ = metadata;
        let at = 0;
        for (const t of tensors) {
          const bits = SAFETENSORS_DTYPE_BITS[t.dtype as keyof typeof SAFETENSORS_DTYPE_BITS] ?? 8;
          const elements = Array.isArray(t.shape) ? (t.shape as number[]).reduce((a: number, b: number) => a * b, 1) : 1;
          const size = Number.isFinite(elements) ? Math.floor((elements * bits) / 8) : 0;
          const begin = at + t.beginDelta;
          const end = begin + size + t.endDelta;
          header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [begin, end] };
          at = Number.isSafeInteger(end) ? end : at;
        }
        const json = new TextEncoder().encode(JSON.stringify(header));
        // The data section is never allocated: the parser is told the file's size instead.
        const fileSize = BigInt(8 + json.length) + BigInt(Math.max(0, at + sizeDelta));
        check(assemble(json, new Uint8Array(0)), fileSize);
      }),
      { ...fuzzRuns(2500, 0x5afe4), endOnFailure: true },
    );
  });
});
