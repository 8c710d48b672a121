import { describe, expect, it } from "vitest";
import { encodeSafetensors } from "./encodeSafetensors.ts";
import { gotongErrorOf } from "../../test/helpers/gotongErrorOf.ts";
import { parseSafetensorsHeader } from "./parseSafetensorsHeader.ts";

/** A file from a raw header text (no padding) and `dataBytes` of data, to write what no honest writer would. */
function raw(header: string | object, dataBytes = 0, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const codeOf = (fn: () => unknown) => gotongErrorOf(fn).code;
const messageOf = (fn: () => unknown) => gotongErrorOf(fn).message;

const t = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });

describe("parseSafetensorsHeader", () => {
  it("reads a file from the reference-style writer: tensors, metadata, sizes", () => {
    const file = encodeSafetensors(
      [
        { name: "embed", dtype: "F32", shape: [4, 3] },
        { name: "norm", dtype: "BF16", shape: [3] },
        { name: "scale", dtype: "F64", shape: [] },
        { name: "mask", dtype: "BOOL", shape: [0, 5] },
        { name: "q", dtype: "F4", shape: [6] },
      ],
      { architecture: "llama", format: "pt" },
    );
    const header = parseSafetensorsHeader(file);
    expect(header.tensors.map((x) => x.name)).toEqual(["embed", "norm", "scale", "mask", "q"]);
    expect(header.tensors.map((x) => [x.begin, x.end])).toEqual([[0n, 48n], [48n, 54n], [54n, 62n], [62n, 62n], [62n, 65n]]);
    expect(header.metadata).toEqual({ architecture: "llama", format: "pt" });
    expect(header.parameterCount).toBe(12n + 3n + 1n + 0n + 6n);
    expect(header.dataOffset % 8).toBe(0);
    expect(header.dataSize).toBe(65n);
    expect(header.fileSize).toBe(BigInt(file.length));
  });

  it("accepts an empty header with no data, and a header padded with spaces", () => {
    expect(parseSafetensorsHeader(raw("{}")).tensors).toEqual([]);
    expect(parseSafetensorsHeader(raw(`{"a":${JSON.stringify(t("U8", [2], 0, 2))}}      `, 2)).tensors).toHaveLength(1);
  });

  it("orders tensors by their data, whatever the order of the JSON", () => {
    const file = raw({ b: t("U8", [2], 2, 4), a: t("U8", [2], 0, 2) }, 4);
    expect(parseSafetensorsHeader(file).tensors.map((x) => x.name)).toEqual(["a", "b"]);
  });

  it("works from a prefix when given the file size, and asks for more when the prefix is short", () => {
    const file = encodeSafetensors([{ name: "w", dtype: "F16", shape: [8] }]);
    const header = parseSafetensorsHeader(file);
    expect(parseSafetensorsHeader(file.subarray(0, header.dataOffset), { fileSize: BigInt(file.length) }).tensors).toHaveLength(1);
    expect(codeOf(() => parseSafetensorsHeader(file.subarray(0, 8), { fileSize: BigInt(file.length) }))).toBe("safetensors_header_incomplete");
    expect(codeOf(() => parseSafetensorsHeader(file.subarray(0, 5), { fileSize: BigInt(file.length) }))).toBe("safetensors_header_incomplete");
  });

  describe("refuses every malformed file of SECURITY.md", () => {
    it("a file shorter than the length prefix", () => {
      expect(codeOf(() => parseSafetensorsHeader(new Uint8Array(5)))).toBe("safetensors_truncated");
    });
    it("a header length over 100 MB, even when the file is that large", () => {
      expect(codeOf(() => parseSafetensorsHeader(raw("{}", 0, 100_000_001n), { fileSize: 200_000_000n }))).toBe("safetensors_header_too_large");
      expect(codeOf(() => parseSafetensorsHeader(raw("{}", 0, (1n << 64n) - 1n)))).toBe("safetensors_header_too_large");
    });
    it("a header length over the file size", () => {
      expect(codeOf(() => parseSafetensorsHeader(raw("{}", 0, 3n)))).toBe("safetensors_truncated");
    });
    it("a header length too small for an object", () => {
      expect(codeOf(() => parseSafetensorsHeader(raw("{}", 0, 1n)))).toBe("safetensors_invalid");
    });
    it("a first byte that is not {", () => {
      expect(messageOf(() => parseSafetensorsHeader(raw(' {"a":1}')))).toMatch(/does not start with "\{"/);
      expect(codeOf(() => parseSafetensorsHeader(raw("[1, 2]")))).toBe("safetensors_invalid");
      const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]);
      const file = new Uint8Array(8 + bom.length);
      new DataView(file.buffer).setBigUint64(0, BigInt(bom.length), true);
      file.set(bom, 8);
      expect(codeOf(() => parseSafetensorsHeader(file))).toBe("safetensors_invalid");
    });
    it("bad UTF-8", () => {
      const file = raw('{"ab":"cd"}');
      file[10] = 0xff;
      expect(messageOf(() => parseSafetensorsHeader(file))).toMatch(/UTF-8/);
      const overlong = raw('{"__metadata__":{"k":"XX"}}');
      overlong.set([0xc0, 0xaf], 8 + 22); // an overlong "/": invalid, must not decode to "/"
      expect(messageOf(() => parseSafetensorsHeader(overlong))).toMatch(/UTF-8/);
    });
    it("bad JSON", () => {
      expect(messageOf(() => parseSafetensorsHeader(raw('{"a": ')))).toMatch(/not valid JSON/);
      expect(messageOf(() => parseSafetensorsHeader(raw("{} {}")))).toMatch(/not valid JSON/);
      expect(messageOf(() => parseSafetensorsHeader(raw("{'a':1}")))).toMatch(/not valid JSON/);
    });
    it("duplicate keys, at the top or inside a tensor, even when spelled with escapes", () => {
      const tensor = JSON.stringify(t("U8", [2], 0, 2));
      expect(messageOf(() => parseSafetensorsHeader(raw(`{"w":${tensor},"w":${tensor}}`, 2)))).toMatch(/"w" twice/);
      expect(messageOf(() => parseSafetensorsHeader(raw(`{"w":${tensor},"\\u0077":${tensor}}`, 2)))).toMatch(/"w" twice/);
      expect(messageOf(() => parseSafetensorsHeader(raw(`{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"data_offsets":[0,2]}}`, 2)))).toMatch(/twice/);
      // The same key in two different objects is fine.
      expect(parseSafetensorsHeader(raw(`{"__metadata__":{"dtype":"x"},"w":${tensor}}`, 2)).tensors).toHaveLength(1);
    });
    it("negative offsets", () => {
      expect(codeOf(() => parseSafetensorsHeader(raw({ w: t("U8", [2], -2, 0) }, 2)))).toBe("safetensors_invalid");
    });
    it("reversed offsets", () => {
      expect(messageOf(() => parseSafetensorsHeader(raw({ w: t("U8", [0], 2, 0) }, 2)))).toMatch(/reversed/);
    });
    it("overlapping tensors", () => {
      expect(messageOf(() => parseSafetensorsHeader(raw({ a: t("U8", [4], 0, 4), b: t("U8", [4], 2, 6) }, 6)))).toMatch(/overlap/);
      expect(messageOf(() => parseSafetensorsHeader(raw({ a: t("U8", [4], 0, 4), b: t("U8", [4], 0, 4) }, 4)))).toMatch(/overlap/);
    });
    it("gaps, at the start or between tensors", () => {
      expect(messageOf(() => parseSafetensorsHeader(raw({ a: t("U8", [4], 1, 5) }, 5)))).toMatch(/gap/);
      expect(messageOf(() => parseSafetensorsHeader(raw({ a: t("U8", [2], 0, 2), b: t("U8", [2], 3, 5) }, 5)))).toMatch(/gap/);
    });
    it("offsets that disagree with shape × dtype", () => {
      expect(messageOf(() => parseSafetensorsHeader(raw({ a: t("F32", [2], 0, 4), b: t("U8", [4], 4, 8) }, 8)))).toMatch(/8 bytes\) but data_offsets span 4/);
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: t("F4", [3], 0, 2) }, 2)))).toBe("safetensors_invalid");
    });
    it("shapes whose product would overflow 64 bits, without building huge numbers", () => {
      const big = 2 ** 52;
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: t("F64", [big, big, big, big], 0, 8) }, 8)))).toBe("safetensors_invalid");
      const many = { a: { dtype: "U8", shape: Array.from({ length: 100_000 }, () => 3), data_offsets: [0, 8] } };
      const started = performance.now();
      expect(codeOf(() => parseSafetensorsHeader(raw(many, 8)))).toBe("safetensors_invalid");
      expect(performance.now() - started).toBeLessThan(500);
      // A zero dimension makes the rest irrelevant: an empty tensor.
      expect(parseSafetensorsHeader(raw({ a: t("F64", [big, 0, big], 0, 0) })).parameterCount).toBe(0n);
    });
    it("numbers that JSON cannot carry exactly, fractions and non-numbers", () => {
      expect(codeOf(() => parseSafetensorsHeader(raw('{"a":{"dtype":"U8","shape":[9007199254740993],"data_offsets":[0,1]}}', 1)))).toBe("safetensors_invalid");
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: t("U8", [1.5], 0, 1) }, 1)))).toBe("safetensors_invalid");
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: { dtype: "U8", shape: ["1"], data_offsets: [0, 1] } }, 1)))).toBe("safetensors_invalid");
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: { dtype: "U8", shape: [1], data_offsets: [0, 1, 2] } }, 1)))).toBe("safetensors_invalid");
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: { dtype: "U8", shape: [1] } }, 1)))).toBe("safetensors_invalid");
    });
    it("offsets past the end of the file", () => {
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: t("U8", [8], 0, 8) }, 4)))).toBe("safetensors_truncated");
    });
    it("trailing bytes after the last tensor", () => {
      expect(messageOf(() => parseSafetensorsHeader(raw({ a: t("U8", [4], 0, 4) }, 5)))).toMatch(/1 bytes after its last tensor/);
      expect(codeOf(() => parseSafetensorsHeader(raw("{}", 1)))).toBe("safetensors_invalid");
    });
    it("unknown dtypes and fields, and metadata that is not a string map", () => {
      expect(messageOf(() => parseSafetensorsHeader(raw({ a: t("Q4_K", [4], 0, 4) }, 4)))).toMatch(/unknown dtype "Q4_K"/);
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: t("toString", [4], 0, 4) }, 4)))).toBe("safetensors_invalid");
      expect(messageOf(() => parseSafetensorsHeader(raw({ a: { ...t("U8", [4], 0, 4), extra: 1 } }, 4)))).toMatch(/unknown field "extra"/);
      expect(codeOf(() => parseSafetensorsHeader(raw({ __metadata__: { n: 1 } })))).toBe("safetensors_invalid");
      expect(codeOf(() => parseSafetensorsHeader(raw({ __metadata__: ["a"] })))).toBe("safetensors_invalid");
      expect(codeOf(() => parseSafetensorsHeader(raw({ a: [1, 2] })))).toBe("safetensors_invalid");
    });
    it("keeps hostile names from polluting anything", () => {
      const header = parseSafetensorsHeader(raw('{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1));
      expect(header.tensors[0]!.name).toBe("__proto__");
      expect(header.metadata["__proto__"]).toBe("x");
      expect(({} as Record<string, unknown>).dtype).toBeUndefined();
    });
  });
});
