/** One edit a fuzz test makes to a file's bytes; `at` is taken modulo the current length. */
export type ByteMutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "u64"; at: number; value: bigint }
  | { kind: "u32"; at: number; value: number }
  | { kind: "truncate"; length: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number };

/**
 * A copy of `original` with `mutations` applied in order (little-endian for `u64` and `u32`, which
 * are skipped where they would not fit). For fuzz tests of the header parsers.
 *
 * @example mutateBytes(seed, [{ kind: "u64", at: 8, value: 1n << 63n }])
 */
export function mutateBytes(original: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let bytes = original.slice();
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : "at" in m ? m.at % bytes.length : 0;
    switch (m.kind) {
      case "flip":
        if (bytes.length > 0) bytes[at]! ^= 1 << m.bit;
        break;
      case "set":
        if (bytes.length > 0) bytes[at] = m.value;
        break;
      case "u64":
        if (at + 8 <= bytes.length) new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, m.value, true);
        break;
      case "u32":
        if (at + 4 <= bytes.length) new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, m.value, true);
        break;
      case "truncate":
        bytes = bytes.slice(0, m.length % (bytes.length + 1));
        break;
      case "insert": {
        const grown = new Uint8Array(bytes.length + m.bytes.length);
        grown.set(bytes.subarray(0, at));
        grown.set(m.bytes, at);
        grown.set(bytes.subarray(at), at + m.bytes.length);
        bytes = grown;
        break;
      }
      case "delete":
        bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + m.count)]);
        break;
    }
  }
  return bytes;
}
