import { readFile } from "node:fs/promises";
import { readGgufHeader } from "../model/readGgufHeader.ts";
import { writeGguf } from "../model/writeGguf.ts";
import type { GgufWriteValue } from "../model/encodeGguf.ts";

/**
 * Writes a lower-precision copy of an F32 GGUF: the cheat a verifier must catch (a provider serving
 * a smaller quantisation under the full model's weights hash). Matrices are rounded to `target`,
 * llama.cpp's own reference rounding (ggml-quants.c); norms and other vectors stay F32 as llama.cpp's
 * quantiser keeps them; a matrix whose rows do not split into 32-value blocks falls back to F16.
 * For tests and bench/determinism.ts.
 *
 * @example await quantizeGguf("stories260K.gguf", "stories260K-q8_0.gguf", "Q8_0")
 */
export async function quantizeGguf(source: string, destination: string, target: QuantTarget): Promise<{ bytes: number; sha256: string }> {
  const header = await readGgufHeader(source, { keepArrays: true });
  const file = await readFile(source);
  const metadata: [string, GgufWriteValue][] = [];
  for (const [key, entry] of header.metadata) {
    if (entry.type === "array") {
      if (!entry.value.values) throw new Error(`${source}: the array ${key} was not read in full`);
      metadata.push([key, { type: "array", elementType: entry.value.elementType, values: entry.value.values }]);
    } else metadata.push([key, { type: entry.type, value: entry.value }]);
  }
  const tensors = header.tensors.map((t) => {
    if (t.type !== F32) throw new Error(`${source}: tensor ${t.name} is ${t.typeName}; only F32 models are requantised here`);
    const start = Number(header.dataOffset + t.offset);
    const raw = file.subarray(start, start + Number(t.byteSize));
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const dims = t.dims.map(Number);
    const matrix = dims.length >= 2 && dims[1]! > 1;
    const rowsSplit = dims[0]! % BLOCK === 0;
    const kind: QuantTarget | "F32" = !matrix ? "F32" : target !== "F16" && !rowsSplit ? "F16" : target;
    return { name: t.name, dims, type: TYPE_IDS[kind], data: encode(values, kind) };
  });
  return writeGguf(destination, { metadata, tensors, alignment: header.alignment });
}

export type QuantTarget = "F16" | "Q8_0" | "Q4_0";

const F32 = 0;
const BLOCK = 32;
const TYPE_IDS = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;

function encode(values: Float32Array, kind: QuantTarget | "F32"): Uint8Array {
  if (kind === "F32") return new Uint8Array(values.buffer.slice(0));
  if (kind === "F16") {
    const out = new DataView(new ArrayBuffer(values.length * 2));
    values.forEach((v, i) => out.setUint16(i * 2, toHalf(v), true));
    return new Uint8Array(out.buffer);
  }
  const blocks = values.length / BLOCK;
  const blockBytes = kind === "Q8_0" ? 2 + BLOCK : 2 + BLOCK / 2;
  const out = new Uint8Array(blocks * blockBytes);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * BLOCK, (b + 1) * BLOCK);
    const at = b * blockBytes;
    if (kind === "Q8_0") {
      // quantize_row_q8_0_ref: d = amax / 127, q = round(x / d).
      let amax = 0;
      for (const v of x) amax = Math.max(amax, Math.abs(v));
      const d = amax / 127;
      const id = d ? 1 / d : 0;
      view.setUint16(at, toHalf(d), true);
      for (let j = 0; j < BLOCK; j++) view.setInt8(at + 2 + j, Math.round(x[j]! * id));
    } else {
      // quantize_row_q4_0_ref: d = max / -8 (max the value of largest magnitude), q = min(15, trunc(x / d + 8.5)),
      // the first half of the block in the low nibbles, the second half in the high ones.
      let amax = 0;
      let max = 0;
      for (const v of x) if (Math.abs(v) > amax) [amax, max] = [Math.abs(v), v];
      const d = max / -8;
      const id = d ? 1 / d : 0;
      view.setUint16(at, toHalf(d), true);
      for (let j = 0; j < BLOCK / 2; j++) {
        const lo = Math.min(15, Math.trunc(x[j]! * id + 8.5));
        const hi = Math.min(15, Math.trunc(x[j + BLOCK / 2]! * id + 8.5));
        out[at + 2 + j] = lo | (hi << 4);
      }
    }
  }
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE 754 binary16 bits of a float, rounded to nearest even (as ggml's FP32_TO_FP16). */
function toHalf(value: number): number {
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}
