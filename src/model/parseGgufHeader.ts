import { GotongError } from "../common/errors.ts";
import { ggmlTypeInfo } from "./ggmlTypeInfo.ts";
import { SNIFF_HEAD_BYTES, PICKLE_HINT, sniffModelBytes } from "./sniffModelBytes.ts";

/** GGUF metadata value types, indexed by their id in the file. */
export const GGUF_VALUE_TYPES = [
  "uint8",
  "int8",
  "uint16",
  "int16",
  "uint32",
  "int32",
  "float32",
  "bool",
  "string",
  "array",
  "uint64",
  "int64",
  "float64",
] as const;

/** Name of a GGUF metadata value type. */
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];

/** Bytes of each fixed-size GGUF value type. */
export const GGUF_SCALAR_SIZES: Readonly<Record<Exclude<GgufValueType, "string" | "array">, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

/** A single GGUF metadata value: 64-bit integers are bigints, every other number a number. */
export type GgufScalar = number | bigint | boolean | string;

/** A GGUF array. `values` is present only for small arrays or when asked (see `keepArrays`). */
export type GgufArray = {
  elementType: Exclude<GgufValueType, "array">;
  length: number;
  values?: GgufScalar[];
};

/** One metadata entry: its declared type and its value. */
export type GgufMetadataEntry =
  | { type: Exclude<GgufValueType, "array">; value: GgufScalar }
  | { type: "array"; value: GgufArray };

/** One tensor as the header describes it. */
export type GgufTensorInfo = {
  name: string;
  /** Dimensions in ggml order (the first is the fastest-varying, e.g. `[n_embd, n_vocab]`). */
  dims: bigint[];
  /** ggml type id, e.g. 0 = F32, 12 = Q4_K. */
  type: number;
  /** ggml type name, e.g. `F32`. */
  typeName: string;
  /** Offset of the tensor's data from the start of the data section (`dataOffset`). */
  offset: bigint;
  /** Bytes of data. */
  byteSize: bigint;
  /** Number of elements (product of `dims`). */
  elementCount: bigint;
};

/** Everything a GGUF file's header says, checked against the file's size. */
export type GgufHeader = {
  version: number;
  tensorCount: number;
  metadataCount: number;
  /** Metadata in file order. Arrays are summarised unless asked for (see `keepArrays`). */
  metadata: Map<string, GgufMetadataEntry>;
  tensors: GgufTensorInfo[];
  /** `general.alignment`, 32 when absent. */
  alignment: number;
  /** Where the tensor data section starts. */
  dataOffset: bigint;
  /** Bytes of tensor data, up to the end of the last tensor. */
  tensorDataBytes: bigint;
  fileSize: bigint;
  /** `general.architecture`, e.g. `llama`. */
  architecture: string | undefined;
  /** `general.name`. */
  name: string | undefined;
  /** `<architecture>.context_length`: the context the model was trained for. */
  contextLength: number | undefined;
  /** Sum of the tensors' element counts; undefined when the file has no tensors. */
  parameterCount: number | undefined;
};

/** Options of `parseGgufHeader` and `readGgufHeader`. */
export type ParseGgufHeaderOptions = {
  /** Size of the whole file. Default: `bytes.length` (the bytes are the whole file). */
  fileSize?: bigint;
  /**
   * Arrays to keep in full: `true` for all, or a list of keys (e.g. `["tokenizer.ggml.tokens"]`).
   * Other arrays longer than `maxKeptArrayLength` are summarised as their type and length, so that a
   * 150k-token vocabulary costs nothing unless someone needs it. Default: none.
   */
  keepArrays?: boolean | readonly string[];
  /** Arrays up to this length are always kept. Default 64. */
  maxKeptArrayLength?: number;
};

// Smallest encodings, used to refuse counts the remaining bytes could never hold before looping
// over them: a key/value needs a key length (8), a type (4) and a value (≥ 1); a tensor info needs
// a name length (8), a dimension count (4), a type (4) and an offset (8).
const MIN_KV_BYTES = 13n;
const MIN_TENSOR_INFO_BYTES = 24n;
const INT64_MAX = (1n << 63n) - 1n;
const MAX_KEY_BYTES = 65_535;
// ggml's GGML_MAX_NAME is 64 including the terminating NUL; GGML_MAX_DIMS is 4.
const MAX_TENSOR_NAME_BYTES = 63;
const MAX_DIMS = 4;
const DEFAULT_ALIGNMENT = 32;
// No real file aligns to more than a page or two; a huge alignment only serves to push the data
// section somewhere absurd.
const MAX_ALIGNMENT = 1 << 20;

const TRUNCATED_HINT = "The file is incomplete or corrupt: download it again and check its sha256.";
const INVALID_HINT =
  "The file is corrupt or was crafted to attack GGUF readers: do not load it. Get the model again from a source you trust.";

/**
 * Parses and checks a GGUF (v2 or v3) header from the file's leading bytes, trusting no count,
 * length or offset until it is checked against the file size. Pure and synchronous; see
 * `readGgufHeader` to read from a path.
 *
 * Throws GotongError `gguf_not_gguf`, `gguf_unsupported_version`, `gguf_truncated`, `gguf_invalid`,
 * or `gguf_header_incomplete` when `bytes` is a prefix that ends before the header does.
 *
 * @example parseGgufHeader(await readFile("model.gguf")).architecture // "llama"
 */
export function parseGgufHeader(bytes: Uint8Array, options: ParseGgufHeaderOptions = {}): GgufHeader {
  const fileSize = options.fileSize ?? BigInt(bytes.length);
  if (fileSize < 0n) throw new RangeError("fileSize must not be negative");
  const cursor = new Cursor(bytes, fileSize);
  const maxKept = options.maxKeptArrayLength ?? 64;
  const keepArrays = options.keepArrays ?? false;
  const keep = (key: string, length: number) =>
    length <= maxKept || keepArrays === true || (Array.isArray(keepArrays) && keepArrays.includes(key));

  checkMagic(bytes, fileSize);
  const version = cursor.u32("version");
  if (version !== 2 && version !== 3) {
    const bigEndian = version > 0xffff;
    throw new GotongError(
      bigEndian ? "This GGUF file is big-endian, which Gotong does not read." : `GGUF version ${version} is not supported (only 2 and 3).`,
      {
        code: "gguf_unsupported_version",
        status: 415,
        hint:
          version === 1
            ? "GGUF v1 is obsolete: download a current GGUF of the model or re-convert it with a recent llama.cpp."
            : "Use a little-endian GGUF v3 file, as written by current llama.cpp tools.",
      },
    );
  }

  const tensorCount = cursor.count("tensor count");
  const metadataCount = cursor.count("metadata key/value count");
  const minimum = BigInt(tensorCount) * MIN_TENSOR_INFO_BYTES + BigInt(metadataCount) * MIN_KV_BYTES;
  if (minimum > cursor.left()) {
    throw truncated(
      `The header declares ${tensorCount} tensors and ${metadataCount} metadata entries, which need at least ${minimum} bytes, but only ${cursor.left()} remain.`,
    );
  }

  const metadata = new Map<string, GgufMetadataEntry>();
  for (let i = 0; i < metadataCount; i++) {
    const key = cursor.string(`metadata key #${i}`, { maxBytes: MAX_KEY_BYTES, fatal: true });
    if (key.length === 0) throw invalid(`Metadata key #${i} is empty.`);
    if (metadata.has(key)) throw invalid(`Metadata key "${key}" appears twice.`);
    const typeId = cursor.u32(`type of "${key}"`);
    const type = GGUF_VALUE_TYPES[typeId];
    if (type === undefined) throw invalid(`Metadata key "${key}" has unknown value type ${typeId}.`);
    if (type === "array") {
      const elementTypeId = cursor.u32(`element type of "${key}"`);
      const elementType = GGUF_VALUE_TYPES[elementTypeId];
      if (elementType === undefined) throw invalid(`Array "${key}" has unknown element type ${elementTypeId}.`);
      // llama.cpp refuses nested arrays too; refusing them also means no recursion to exhaust.
      if (elementType === "array") throw invalid(`Array "${key}" contains arrays, which GGUF readers do not support.`);
      const length = cursor.count(`length of array "${key}"`);
      const minBytes = BigInt(length) * BigInt(elementType === "string" ? 8 : GGUF_SCALAR_SIZES[elementType]);
      if (minBytes > cursor.left()) {
        throw truncated(`Array "${key}" declares ${length} elements (at least ${minBytes} bytes) but only ${cursor.left()} bytes remain.`);
      }
      const array: GgufArray = { elementType, length };
      if (keep(key, length)) {
        const values: GgufScalar[] = [];
        for (let j = 0; j < length; j++) values.push(cursor.scalar(elementType, `element ${j} of "${key}"`));
        array.values = values;
      } else if (elementType === "string") {
        for (let j = 0; j < length; j++) cursor.skipString(`element ${j} of "${key}"`);
      } else {
        cursor.skip(length * GGUF_SCALAR_SIZES[elementType], `array "${key}"`);
      }
      metadata.set(key, { type: "array", value: array });
    } else {
      metadata.set(key, { type, value: cursor.scalar(type, `value of "${key}"`) });
    }
  }

  const alignment = readAlignment(metadata);

  const tensors: GgufTensorInfo[] = [];
  const tensorNames = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = cursor.string(`name of tensor #${i}`, { maxBytes: MAX_TENSOR_NAME_BYTES, fatal: false });
    if (tensorNames.has(name)) throw invalid(`Tensor "${name}" appears twice.`);
    tensorNames.add(name);
    const dimCount = cursor.u32(`dimension count of "${name}"`);
    if (dimCount > MAX_DIMS) throw invalid(`Tensor "${name}" has ${dimCount} dimensions; ggml supports at most ${MAX_DIMS}.`);
    const dims: bigint[] = [];
    let elementCount = 1n;
    for (let d = 0; d < dimCount; d++) {
      const dim = cursor.u64(`dimension ${d} of "${name}"`);
      if (dim > INT64_MAX) throw invalid(`Tensor "${name}" has dimension ${dim}, negative as a signed 64-bit number.`);
      elementCount *= dim;
      if (elementCount > INT64_MAX) throw invalid(`Tensor "${name}"'s dimensions multiply past 2^63 elements.`);
      dims.push(dim);
    }
    const type = cursor.u32(`ggml type of "${name}"`);
    const info = ggmlTypeInfo(type);
    if (info === undefined) throw invalid(`Tensor "${name}" has unknown or removed ggml type ${type}.`);
    const rowLength = dims[0] ?? 1n;
    if (rowLength % BigInt(info.blockSize) !== 0n) {
      throw invalid(`Tensor "${name}" has rows of ${rowLength} elements, not a multiple of ${info.name}'s block size ${info.blockSize}.`);
    }
    const byteSize = (elementCount / BigInt(info.blockSize)) * BigInt(info.typeSize);
    if (byteSize > INT64_MAX) throw invalid(`Tensor "${name}"'s size overflows 64 bits.`);
    const offset = cursor.u64(`data offset of "${name}"`);
    if (offset % BigInt(alignment) !== 0n) {
      throw invalid(`Tensor "${name}" starts at offset ${offset}, not a multiple of the alignment ${alignment}.`);
    }
    tensors.push({ name, dims, type, typeName: info.name, offset, byteSize, elementCount });
  }

  const infoEnd = BigInt(cursor.position);
  const dataOffset = ((infoEnd + BigInt(alignment) - 1n) / BigInt(alignment)) * BigInt(alignment);
  if (tensorCount > 0 && dataOffset > fileSize) {
    throw truncated(`The tensor data should start at byte ${dataOffset}, past the end of the file (${fileSize} bytes).`);
  }
  const dataBytes = fileSize - dataOffset;

  let tensorDataBytes = 0n;
  for (const tensor of tensors) {
    const end = tensor.offset + tensor.byteSize;
    if (end > dataBytes) {
      throw truncated(
        `Tensor "${tensor.name}" ends at byte ${dataOffset + end}, past the end of the file (${fileSize} bytes).`,
      );
    }
    if (end > tensorDataBytes) tensorDataBytes = end;
  }
  // Overlapping tensors would let one region be read as two different weights; an honest writer
  // never produces them.
  const byOffset = tensors.filter((t) => t.byteSize > 0n).sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (let i = 1; i < byOffset.length; i++) {
    const previous = byOffset[i - 1]!;
    const current = byOffset[i]!;
    if (current.offset < previous.offset + previous.byteSize) {
      throw invalid(`Tensors "${previous.name}" and "${current.name}" overlap.`);
    }
  }

  const architecture = stringValue(metadata, "general.architecture");
  const contextLength = architecture === undefined ? undefined : integerValue(metadata, `${architecture}.context_length`);
  const parameterCount = tensors.length === 0 ? undefined : Number(tensors.reduce((sum, t) => sum + t.elementCount, 0n));

  return {
    version,
    tensorCount,
    metadataCount,
    metadata,
    tensors,
    alignment,
    dataOffset,
    tensorDataBytes,
    fileSize,
    architecture,
    name: stringValue(metadata, "general.name"),
    contextLength,
    parameterCount,
  };
}

/** Refuses anything that does not start with "GGUF", saying what it is instead. */
function checkMagic(bytes: Uint8Array, fileSize: bigint): void {
  const magic = [0x47, 0x47, 0x55, 0x46];
  const available = Number(fileSize < 4n ? fileSize : 4n);
  const prefixMatches = magic.slice(0, Math.min(available, bytes.length)).every((b, i) => bytes[i] === b);
  if (prefixMatches && available < 4) {
    throw truncated(fileSize === 0n ? "The file is empty." : `The file is only ${fileSize} bytes long.`);
  }
  if (prefixMatches && bytes.length >= 4) return;
  if (prefixMatches) throw incomplete(bytes.length);
  const lastByte = BigInt(bytes.length) >= fileSize && fileSize > 0n ? bytes[Number(fileSize) - 1] : undefined;
  const sniff = sniffModelBytes(bytes.subarray(0, SNIFF_HEAD_BYTES), fileSize, lastByte);
  const what = sniff.kind === "gguf" ? "a GGUF file" : sniff.kind === "safetensors" ? "a safetensors file" : sniff.what;
  const hint =
    sniff.kind === "pickle"
      ? PICKLE_HINT
      : sniff.kind === "safetensors"
        ? "Use a GGUF file here, or the safetensors path where one is accepted."
        : sniff.kind === "other"
          ? sniff.hint
          : undefined;
  throw new GotongError(`This is not a GGUF file: it is ${what}.`, { code: "gguf_not_gguf", status: 415, hint });
}

/** `general.alignment`, checked: a uint32 power of two no larger than MAX_ALIGNMENT. */
function readAlignment(metadata: Map<string, GgufMetadataEntry>): number {
  const entry = metadata.get("general.alignment");
  if (entry === undefined) return DEFAULT_ALIGNMENT;
  if (entry.type !== "uint32") throw invalid(`general.alignment must be a uint32, not ${entry.type}.`);
  const alignment = entry.value as number;
  if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
    throw invalid(`general.alignment is ${alignment}, not a power of two.`);
  }
  if (alignment > MAX_ALIGNMENT) throw invalid(`general.alignment is ${alignment}, larger than ${MAX_ALIGNMENT}.`);
  return alignment;
}

function stringValue(metadata: Map<string, GgufMetadataEntry>, key: string): string | undefined {
  const entry = metadata.get(key);
  return entry?.type === "string" ? (entry.value as string) : undefined;
}

function integerValue(metadata: Map<string, GgufMetadataEntry>, key: string): number | undefined {
  const entry = metadata.get(key);
  if (entry === undefined || entry.type === "array" || entry.type === "string" || entry.type === "bool") return undefined;
  if (entry.type === "float32" || entry.type === "float64") return undefined;
  const value = Number(entry.value);
  return Number.isSafeInteger(value) ? value : undefined;
}

function truncated(message: string): GotongError {
  return new GotongError(message, { code: "gguf_truncated", status: 422, hint: TRUNCATED_HINT });
}

function invalid(message: string): GotongError {
  const sentence = message.charAt(0).toLowerCase() + message.slice(1);
  return new GotongError(`Invalid GGUF header: ${sentence}`, { code: "gguf_invalid", status: 422, hint: INVALID_HINT });
}

function incomplete(available: number): GotongError {
  return new GotongError(`The GGUF header continues past the ${available} bytes given.`, {
    code: "gguf_header_incomplete",
    status: 422,
    hint: "Pass more of the file (readGgufHeader does this by itself).",
  });
}

/** Little-endian reads over a file prefix, each checked first against the file, then the prefix. */
class Cursor {
  position = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });
  private readonly strictDecoder = new TextDecoder("utf-8", { fatal: true });

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fileSize: bigint,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = 4; // past the magic, which checkMagic has read
  }

  /** Bytes of the file after the current position. */
  left(): bigint {
    return this.fileSize - BigInt(this.position);
  }

  private need(length: number, what: string): void {
    if (BigInt(this.position) + BigInt(length) > this.fileSize) {
      throw truncated(`The file ends inside ${what} (byte ${this.position}, file size ${this.fileSize}).`);
    }
    if (this.position + length > this.bytes.length) throw incomplete(this.bytes.length);
  }

  skip(length: number, what: string): void {
    this.need(length, what);
    this.position += length;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.position, true);
    this.position += 4;
    return value;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const value = this.view.getBigUint64(this.position, true);
    this.position += 8;
    return value;
  }

  /** A u64 count or length, refused when it is negative as int64 or larger than the bytes left. */
  count(what: string): number {
    const value = this.u64(what);
    if (value > INT64_MAX) throw invalid(`The ${what} is ${value}, negative as a signed 64-bit number.`);
    if (value > this.left()) throw truncated(`The ${what} is ${value}, more than the ${this.left()} bytes left in the file.`);
    return Number(value);
  }

  string(what: string, options: { maxBytes?: number; fatal: boolean }): string {
    const length = this.count(`length of ${what}`);
    if (options.maxBytes !== undefined && length > options.maxBytes) {
      throw invalid(`The ${what} is ${length} bytes long; at most ${options.maxBytes} are allowed.`);
    }
    this.need(length, what);
    const slice = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    if (!options.fatal) return this.decoder.decode(slice);
    try {
      return this.strictDecoder.decode(slice);
    } catch {
      throw invalid(`The ${what} is not valid UTF-8.`);
    }
  }

  skipString(what: string): void {
    const length = this.count(`length of ${what}`);
    this.skip(length, what);
  }

  scalar(type: Exclude<GgufValueType, "array">, what: string): GgufScalar {
    if (type === "string") return this.string(what, { fatal: false });
    const size = GGUF_SCALAR_SIZES[type];
    this.need(size, what);
    const p = this.position;
    this.position += size;
    switch (type) {
      case "uint8":
        return this.view.getUint8(p);
      case "int8":
        return this.view.getInt8(p);
      case "uint16":
        return this.view.getUint16(p, true);
      case "int16":
        return this.view.getInt16(p, true);
      case "uint32":
        return this.view.getUint32(p, true);
      case "int32":
        return this.view.getInt32(p, true);
      case "float32":
        return this.view.getFloat32(p, true);
      case "float64":
        return this.view.getFloat64(p, true);
      case "uint64":
        return this.view.getBigUint64(p, true);
      case "int64":
        return this.view.getBigInt64(p, true);
      case "bool": {
        const byte = this.view.getUint8(p);
        if (byte > 1) throw invalid(`The ${what} is a bool with byte value ${byte}; only 0 and 1 are valid.`);
        return byte === 1;
      }
    }
  }
}
