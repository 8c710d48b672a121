import { GGUF_SCALAR_SIZES, GGUF_VALUE_TYPES, type GgufScalar, type GgufValueType } from "./parseGgufHeader.ts";

type ScalarType = Exclude<GgufValueType, "array">;

/** A metadata value to write. Plain strings and booleans stand for themselves; numbers need their type. */
export type GgufWriteValue =
  | string
  | boolean
  | { type: ScalarType; value: GgufScalar }
  | { type: "array"; elementType: ScalarType; values: readonly GgufScalar[] }
  /** Any type id followed by any bytes: for building malformed files in tests. */
  | { rawType: number; bytes: Uint8Array };

/** A tensor to write: its ggml dimensions (fastest first), ggml type id and raw little-endian data. */
export type GgufWriteTensor = {
  name: string;
  dims: readonly (number | bigint)[];
  type: number;
  data: Uint8Array;
  /** Offset to record instead of the computed one (for malformed test files). */
  offset?: bigint;
};

/** What `encodeGguf` writes. The overrides exist to build malformed files for tests. */
export type GgufWriteSpec = {
  /** Entries in file order; an array of pairs may repeat a key (to test duplicate detection). */
  metadata: readonly (readonly [string, GgufWriteValue])[] | Readonly<Record<string, GgufWriteValue>>;
  tensors?: readonly GgufWriteTensor[];
  /** Padding alignment. Default: `general.alignment` when it is a uint32 entry, else 32. */
  alignment?: number;
  /** GGUF version to write. Default 3. */
  version?: number;
  /** Tensor count to record instead of the real one. */
  tensorCount?: bigint;
  /** Metadata count to record instead of the real one. */
  metadataCount?: bigint;
};

/**
 * Encodes a GGUF v3 file in memory, tensors laid out in order, each padded to the alignment as
 * llama.cpp's own writer does. For the small files the project generates and tests with.
 *
 * @example encodeGguf({ metadata: { "general.architecture": "llama" }, tensors: [] })
 */
export function encodeGguf(spec: GgufWriteSpec): Uint8Array {
  const entries = Array.isArray(spec.metadata)
    ? (spec.metadata as readonly (readonly [string, GgufWriteValue])[])
    : Object.entries(spec.metadata as Record<string, GgufWriteValue>);
  const tensors = spec.tensors ?? [];
  const alignmentEntry = entries.find(([key]) => key === "general.alignment")?.[1];
  const alignment =
    spec.alignment ??
    (typeof alignmentEntry === "object" && "type" in alignmentEntry && alignmentEntry.type === "uint32" ? Number(alignmentEntry.value) : 32);
  if (!Number.isInteger(alignment) || alignment <= 0) throw new RangeError(`alignment must be a positive integer, got ${alignment}`);

  const out = new Writer();
  out.bytes(new TextEncoder().encode("GGUF"));
  out.u32(spec.version ?? 3);
  out.u64(spec.tensorCount ?? BigInt(tensors.length));
  out.u64(spec.metadataCount ?? BigInt(entries.length));
  for (const [key, value] of entries) {
    out.string(key);
    writeValue(out, value);
  }

  const align = (n: number) => Math.ceil(n / alignment) * alignment;
  let dataCursor = 0;
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(BigInt(dim));
    out.u32(tensor.type);
    out.u64(tensor.offset ?? BigInt(dataCursor));
    dataCursor = align(dataCursor + tensor.data.length);
  }
  out.pad(align(out.length) - out.length);
  for (const tensor of tensors) {
    out.bytes(tensor.data);
    out.pad(align(tensor.data.length) - tensor.data.length);
  }
  return out.finish();
}

function writeValue(out: Writer, value: GgufWriteValue): void {
  if (typeof value === "string") {
    out.u32(GGUF_VALUE_TYPES.indexOf("string"));
    out.string(value);
  } else if (typeof value === "boolean") {
    out.u32(GGUF_VALUE_TYPES.indexOf("bool"));
    out.u8(value ? 1 : 0);
  } else if ("rawType" in value) {
    out.u32(value.rawType);
    out.bytes(value.bytes);
  } else if (value.type === "array") {
    out.u32(GGUF_VALUE_TYPES.indexOf("array"));
    out.u32(GGUF_VALUE_TYPES.indexOf(value.elementType));
    out.u64(BigInt(value.values.length));
    for (const element of value.values) writeScalar(out, value.elementType, element);
  } else {
    out.u32(GGUF_VALUE_TYPES.indexOf(value.type));
    writeScalar(out, value.type, value.value);
  }
}

function writeScalar(out: Writer, type: ScalarType, value: GgufScalar): void {
  if (type === "string") return out.string(String(value));
  const view = out.reserve(GGUF_SCALAR_SIZES[type]);
  switch (type) {
    case "uint8":
      return view.setUint8(0, Number(value));
    case "int8":
      return view.setInt8(0, Number(value));
    case "uint16":
      return view.setUint16(0, Number(value), true);
    case "int16":
      return view.setInt16(0, Number(value), true);
    case "uint32":
      return view.setUint32(0, Number(value), true);
    case "int32":
      return view.setInt32(0, Number(value), true);
    case "float32":
      return view.setFloat32(0, Number(value), true);
    case "float64":
      return view.setFloat64(0, Number(value), true);
    case "uint64":
      return view.setBigUint64(0, BigInt(value), true);
    case "int64":
      return view.setBigInt64(0, BigInt(value), true);
    case "bool":
      return view.setUint8(0, value === true || value === 1 ? 1 : 0);
  }
}

/** A growable little-endian byte buffer. */
class Writer {
  private buffer = new Uint8Array(1 << 16);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  reserve(size: number): DataView {
    this.ensure(size);
    const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + this.length, size);
    this.length += size;
    return view;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  pad(count: number): void {
    this.ensure(count);
    this.buffer.fill(0, this.length, this.length + count);
    this.length += count;
  }

  u8(value: number): void {
    this.reserve(1).setUint8(0, value);
  }

  u32(value: number): void {
    this.reserve(4).setUint32(0, value, true);
  }

  u64(value: bigint): void {
    this.reserve(8).setBigUint64(0, BigInt.asUintN(64, value), true);
  }

  string(value: string): void {
    const encoded = new TextEncoder().encode(value);
    this.u64(BigInt(encoded.length));
    this.bytes(encoded);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
