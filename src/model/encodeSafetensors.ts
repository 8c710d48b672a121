import { GotongError } from "../common/errors.ts";
import type { SafetensorsDtype } from "./safetensorsDtypeBits.ts";
import { SAFETENSORS_DTYPE_BITS } from "./safetensorsDtypeBits.ts";

/** A tensor to write: its bytes are given raw (little-endian, row-major), or zeros when omitted. */
export type SafetensorsWriteTensor = { name: string; dtype: SafetensorsDtype; shape: number[]; data?: Uint8Array };

/**
 * Encodes a safetensors file the way the reference writer does: tensors in the order given, laid
 * end to end, and the JSON header padded with spaces so the data starts 8-byte aligned. For test
 * fixtures and generated models; it refuses data whose size disagrees with shape × dtype.
 *
 * @example await writeFile("tiny.safetensors", encodeSafetensors([{ name: "w", dtype: "F32", shape: [2, 2] }]))
 */
export function encodeSafetensors(tensors: SafetensorsWriteTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = (tensor.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BITS[tensor.dtype]) / 8;
    if (!Number.isInteger(bytes)) throw new GotongError(`${tensor.name}: ${tensor.dtype} × [${tensor.shape}] is not a whole number of bytes`, { code: "invalid_arguments" });
    const data = tensor.data ?? new Uint8Array(bytes);
    if (data.length !== bytes) throw new GotongError(`${tensor.name}: ${data.length} bytes given, shape × dtype needs ${bytes}`, { code: "invalid_arguments" });
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    chunks.push(data);
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.length;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
