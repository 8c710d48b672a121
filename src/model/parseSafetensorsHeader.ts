import { GotongError } from "../common/errors.ts";
import { findDuplicateJsonKey } from "./findDuplicateJsonKey.ts";
import { printable as clip } from "./printable.ts";
import { SAFETENSORS_DTYPE_BITS, type SafetensorsDtype } from "./safetensorsDtypeBits.ts";

/** One tensor as a safetensors header describes it, checked against the file. */
export type SafetensorsTensorInfo = {
  name: string;
  dtype: SafetensorsDtype;
  /** Dimensions, outermost first (row-major, as PyTorch and NumPy write them). */
  shape: number[];
  /** Where the tensor's bytes start, relative to the data section (`dataOffset`). */
  begin: bigint;
  /** Where they end (exclusive), relative to the data section. */
  end: bigint;
  /** Product of `shape` (1 for a scalar). */
  elementCount: bigint;
};

/** Everything a safetensors file's header says, checked against the file's size. */
export type SafetensorsHeader = {
  /** Bytes of JSON after the 8-byte length prefix. */
  headerLength: number;
  /** Where the data section starts in the file (8 + headerLength). */
  dataOffset: number;
  /** Bytes of tensor data; the tensors cover it exactly. */
  dataSize: bigint;
  fileSize: bigint;
  /** The `__metadata__` string map (empty when absent); a null-prototype object. */
  metadata: Record<string, string>;
  /** Tensors in the order of their data, which is the order they tile the data section. */
  tensors: SafetensorsTensorInfo[];
  /** Sum of the tensors' element counts. */
  parameterCount: bigint;
};

/** Options of `parseSafetensorsHeader`. */
export type ParseSafetensorsHeaderOptions = {
  /** Size of the whole file. Default: `bytes.length` (the bytes are the whole file). */
  fileSize?: bigint;
};

/** The reference implementation's limit: no real header comes near it (a 70B model's is ~100 KB). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

const TENSOR_KEYS = new Set(["dtype", "shape", "data_offsets"]);
const TRUNCATED_HINT = "The file is incomplete or corrupt: download it again and check its sha256.";
const INVALID_HINT =
  "The file is corrupt or was crafted to attack safetensors readers: do not load it. Get the model again from a source you trust.";

/**
 * Parses and checks a safetensors header from the file's leading bytes (the 8-byte length and the
 * JSON), trusting no length, shape or offset until it is checked: the tensors must tile the data
 * section exactly, in order, with no gap, overlap or trailing byte, and each must hold exactly
 * shape × dtype bytes (computed in bigint, so no product can overflow). Pure and synchronous; see
 * `readSafetensorsHeader` to read from a path.
 *
 * Throws GotongError `safetensors_truncated`, `safetensors_header_too_large`, `safetensors_invalid`,
 * or `safetensors_header_incomplete` when `bytes` ends before the header does.
 *
 * @example parseSafetensorsHeader(await readFile("model.safetensors")).tensors.length
 */
export function parseSafetensorsHeader(bytes: Uint8Array, options: ParseSafetensorsHeaderOptions = {}): SafetensorsHeader {
  const fileSize = options.fileSize ?? BigInt(bytes.length);
  if (fileSize < 8n) throw truncated(`The file is ${fileSize} bytes long: too short for a safetensors header.`);
  if (bytes.length < 8) throw incomplete(8);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw new GotongError(`The safetensors header claims ${declared} bytes; the limit is ${SAFETENSORS_MAX_HEADER_BYTES}.`, {
      code: "safetensors_header_too_large",
      status: 422,
      hint: INVALID_HINT,
    });
  }
  if (declared > fileSize - 8n) throw truncated(`The safetensors header claims ${declared} bytes but the file has only ${fileSize - 8n} after its length prefix.`);
  if (declared < 2n) throw invalid(`The safetensors header is ${declared} bytes long: too short to be a JSON object.`);
  const headerLength = Number(declared);
  const dataOffset = 8 + headerLength;
  if (bytes.length < dataOffset) throw incomplete(dataOffset);
  if (bytes[8] !== 0x7b) throw invalid(`The safetensors header does not start with "{" (found byte 0x${bytes[8]!.toString(16).padStart(2, "0")}).`);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataOffset));
  } catch (cause) {
    throw invalid("The safetensors header is not valid UTF-8.", cause);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw invalid(`The safetensors header is not valid JSON (${(cause as Error).message}).`, cause);
  }
  if (!isObject(json)) throw invalid("The safetensors header is not a JSON object.");
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate !== undefined) throw invalid(`The safetensors header has the key "${clip(duplicate)}" twice; readers would disagree about which one counts.`);

  const dataSize = fileSize - BigInt(dataOffset);
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const tensors: SafetensorsTensorInfo[] = [];
  let parameterCount = 0n;
  for (const [name, value] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isObject(value)) throw invalid("The safetensors __metadata__ is not an object.");
      for (const [key, entry] of Object.entries(value)) {
        if (typeof entry !== "string") throw invalid(`The safetensors __metadata__ entry "${clip(key)}" is not a string.`);
        metadata[key] = entry;
      }
      continue;
    }
    const tensor = parseTensor(name, value, dataSize);
    parameterCount += tensor.elementCount;
    tensors.push(tensor);
  }

  // Sorting by (begin, end) lets zero-sized tensors sit anywhere their offset says, as the
  // reference implementation allows, while any gap or overlap shows as a begin that is not the
  // previous end.
  tensors.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  let expected = 0n;
  let previous: string | undefined;
  for (const tensor of tensors) {
    if (tensor.begin > expected) {
      throw invalid(`The safetensors data has a gap: tensor "${clip(tensor.name)}" starts at ${tensor.begin} but ${previous === undefined ? "the data starts at 0" : `"${clip(previous)}" ends at ${expected}`}.`);
    }
    if (tensor.begin < expected) {
      throw invalid(`Tensors "${clip(previous ?? "")}" and "${clip(tensor.name)}" overlap (${tensor.begin} < ${expected}).`);
    }
    expected = tensor.end;
    previous = tensor.name;
  }
  if (expected < dataSize) {
    throw invalid(`The safetensors file has ${dataSize - expected} bytes after its last tensor; nothing may follow the tensors.`);
  }
  // expected > dataSize cannot happen: every tensor's end was checked against dataSize.

  return { headerLength, dataOffset, dataSize, fileSize, metadata, tensors, parameterCount };
}

function parseTensor(name: string, value: unknown, dataSize: bigint): SafetensorsTensorInfo {
  const label = `tensor "${clip(name)}"`;
  if (!isObject(value)) throw invalid(`The safetensors ${label} is not an object.`);
  for (const key of Object.keys(value)) {
    if (!TENSOR_KEYS.has(key)) throw invalid(`The safetensors ${label} has an unknown field "${clip(key)}".`);
  }
  const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== "string" || !Object.hasOwn(SAFETENSORS_DTYPE_BITS, dtype)) {
    throw invalid(`The safetensors ${label} has an unknown dtype ${clip(JSON.stringify(dtype) ?? "(none)")}.`);
  }
  const bits = BigInt(SAFETENSORS_DTYPE_BITS[dtype as SafetensorsDtype]);
  if (!Array.isArray(shape)) throw invalid(`The safetensors ${label} has no shape array.`);
  // JSON numbers above 2^53 lose precision when parsed: refuse them rather than guess.
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw invalid(`The safetensors ${label} has a shape that is not a list of non-negative integers.`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw invalid(`The safetensors ${label} needs data_offsets [begin, end] of two non-negative integers.`);
  }
  const begin = BigInt(offsets[0] as number);
  const end = BigInt(offsets[1] as number);
  if (begin > end) throw invalid(`The safetensors ${label} has reversed data_offsets [${begin}, ${end}].`);
  if (end > dataSize) throw truncated(`The safetensors ${label} ends at byte ${end} of the data but the data has only ${dataSize} bytes.`);

  // Stop multiplying once the product passes what the data could hold, so a shape of a million
  // large dimensions cannot make us build a million-digit bigint.
  const dims = shape as number[];
  const limit = dataSize * 8n;
  let elementCount = dims.includes(0) ? 0n : 1n;
  if (elementCount !== 0n) {
    for (const d of dims) {
      elementCount *= BigInt(d);
      if (elementCount * bits > limit) {
        throw invalid(`The safetensors ${label} has shape [${clip(dims.join(", "))}] of ${dtype}: more than the file's ${dataSize} data bytes.`);
      }
    }
  }
  const totalBits = elementCount * bits;
  if (totalBits % 8n !== 0n) throw invalid(`The safetensors ${label} (${elementCount} × ${dtype}) is not a whole number of bytes.`);
  if (totalBits / 8n !== end - begin) {
    throw invalid(`The safetensors ${label} has shape [${clip(dims.join(", "))}] of ${dtype} (${totalBits / 8n} bytes) but data_offsets span ${end - begin} bytes.`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: dims, begin, end, elementCount };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(message: string, cause?: unknown): GotongError {
  return new GotongError(message, { code: "safetensors_invalid", status: 422, hint: INVALID_HINT, cause });
}

function truncated(message: string): GotongError {
  return new GotongError(message, { code: "safetensors_truncated", status: 422, hint: TRUNCATED_HINT });
}

function incomplete(needed: number): GotongError {
  return new GotongError(`The safetensors header continues past the bytes given (needs ${needed}).`, { code: "safetensors_header_incomplete", status: 422 });
}
