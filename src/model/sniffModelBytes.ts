import { SAFETENSORS_MAX_HEADER_BYTES } from "./parseSafetensorsHeader.ts";

/** What the first bytes of a file say it is. Only `gguf` and `safetensors` are model formats Gotong loads. */
export type ModelSniff =
  | { kind: "gguf"; version: number; bigEndian: boolean }
  | { kind: "safetensors"; headerLength: bigint }
  /** A pickle, or a container in which pickled checkpoints travel (zip, 7z, NumPy object arrays…). */
  | { kind: "pickle"; what: string }
  /** Anything else; `hint` says what to do about it. */
  | { kind: "other"; what: string; hint: string };

/** How many leading bytes `sniffModelBytes` wants to see (a shorter file is fine). */
export const SNIFF_HEAD_BYTES = 4096;

const CONVERT_HINT =
  "Convert the model to GGUF (llama.cpp's convert_hf_to_gguf.py) or to safetensors (`safetensors.torch.save_file`) on a machine you trust, then use that file.";

/**
 * Identifies a file by its magic bytes, never by its name: a pickle renamed to `.gguf` is still a pickle.
 * `head` is the file's first bytes (up to SNIFF_HEAD_BYTES), `lastByte` its final byte if known.
 */
export function sniffModelBytes(head: Uint8Array, fileSize: bigint, lastByte?: number): ModelSniff {
  const at = (i: number) => head[i] ?? -1;
  const startsWith = (...bytes: number[]) => bytes.every((b, i) => at(i) === b);
  const ascii = (start: number, length: number) => String.fromCharCode(...head.subarray(start, start + length));

  if (fileSize === 0n || head.length === 0) {
    return { kind: "other", what: "an empty file", hint: "The file has no content: download or copy it again." };
  }

  if (ascii(0, 4) === "GGUF") {
    if (head.length < 8) return { kind: "gguf", version: 0, bigEndian: false };
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const little = view.getUint32(4, true);
    const big = view.getUint32(4, false);
    // A big-endian GGUF (for s390x) stores the version byte-swapped; small numbers are the only sane versions.
    if (little > 0xffff && big <= 0xffff) return { kind: "gguf", version: big, bigEndian: true };
    return { kind: "gguf", version: little, bigEndian: false };
  }

  // Legacy pre-GGUF llama.cpp formats, written as a little-endian uint32 magic.
  const legacy: Record<string, string> = { lmgg: "GGML", fmgg: "GGMF", tjgg: "GGJT", algg: "GGLA", nsgg: "GGSN" };
  const legacyName = legacy[ascii(0, 4)];
  if (legacyName !== undefined) {
    return {
      kind: "other",
      what: `a legacy ${legacyName} file (the llama.cpp format before GGUF)`,
      hint: "Convert it to GGUF with llama.cpp's convert_llama_ggml_to_gguf.py, or download a GGUF version of the model.",
    };
  }

  // Pickle protocols 2-5 begin with the PROTO opcode (0x80) and the protocol number. This also
  // catches pre-1.6 PyTorch checkpoints, which are a sequence of raw pickles.
  if (at(0) === 0x80 && at(1) >= 2 && at(1) <= 5) {
    return { kind: "pickle", what: `a Python pickle (protocol ${at(1)})` };
  }

  if (startsWith(0x50, 0x4b) && (startsWith(0x50, 0x4b, 3, 4) || startsWith(0x50, 0x4b, 5, 6) || startsWith(0x50, 0x4b, 7, 8))) {
    const entry = zipFirstEntryName(head);
    const inside = entry !== undefined ? ` whose first entry is "${entry}"` : "";
    const torch = entry !== undefined && /(^|\/)(data\.pkl|version|byteorder)$|\.pkl$/.test(entry) ? "a PyTorch checkpoint: " : "";
    return {
      kind: "pickle",
      what: `${torch}a zip archive${inside} (PyTorch .pt/.pth/.bin/.ckpt files are zip archives holding a pickle)`,
    };
  }

  if (startsWith(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) {
    return { kind: "pickle", what: "a 7z archive (a wrapper used to smuggle pickled checkpoints)" };
  }

  if (startsWith(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59)) {
    const header = ascii(10, Math.min(head.length - 10, 4086));
    if (/['"]descr['"]\s*:\s*['"][|<>=]?O/.test(header)) {
      return { kind: "pickle", what: "a NumPy .npy array with object dtype (its elements are pickled)" };
    }
    return {
      kind: "other",
      what: "a NumPy .npy array, not a model file",
      hint: `Gotong loads whole models, not single arrays. ${CONVERT_HINT}`,
    };
  }

  const archives: [number[], string][] = [
    [[0x1f, 0x8b], "a gzip-compressed file"],
    [[0x42, 0x5a, 0x68], "a bzip2-compressed file"],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "an xz-compressed file"],
    [[0x28, 0xb5, 0x2f, 0xfd], "a zstd-compressed file"],
    [[0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], "a RAR archive"],
  ];
  for (const [magic, what] of archives) {
    if (startsWith(...magic)) {
      return { kind: "pickle", what: `${what} (archives are how pickled checkpoints are usually shipped; Gotong does not unpack them)` };
    }
  }
  if (ascii(257, 5) === "ustar") {
    return { kind: "pickle", what: "a tar archive (archives are how pickled checkpoints are usually shipped; Gotong does not unpack them)" };
  }

  if (head.length >= 9 && at(8) === 0x7b) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const headerLength = view.getBigUint64(0, true);
    if (headerLength >= 2n && headerLength <= BigInt(SAFETENSORS_MAX_HEADER_BYTES) && 8n + headerLength <= fileSize) {
      return { kind: "safetensors", headerLength };
    }
    return {
      kind: "other",
      what: `a safetensors-like file whose header length (${headerLength} bytes) does not fit the file (${fileSize} bytes)`,
      hint: "The file is truncated or corrupt: download it again.",
    };
  }

  if (startsWith(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)) {
    return { kind: "other", what: "an HDF5 file (Keras .h5)", hint: CONVERT_HINT };
  }

  // Protocol 0 and 1 pickles have no magic; they start with a container opcode and end with STOP ('.').
  if ([0x28, 0x29, 0x5d, 0x7d, 0x63].includes(at(0)) && lastByte === 0x2e) {
    return { kind: "pickle", what: "a Python pickle (protocol 0 or 1)" };
  }

  const text = new TextDecoder("utf-8", { fatal: false }).decode(head.subarray(0, 512));
  if (text.startsWith("version https://git-lfs")) {
    return {
      kind: "other",
      what: "a Git LFS pointer file, not the model itself",
      hint: "Fetch the real file with `git lfs pull`, or download it from the repository's resolve/download URL.",
    };
  }
  if (/^\s*(<!doctype html|<html|<\?xml|<!--)/i.test(text)) {
    return {
      kind: "other",
      what: "an HTML/XML page (often an error or login page saved in place of the file)",
      hint: "Check the URL: it must point at the file itself (for Hugging Face, a `/resolve/` URL).",
    };
  }
  // A multi-byte character cut at the end of the sample decodes to one U+FFFD; anything else must be clean.
  const sample = text.replace(/\ufffd$/, "");
  if (/^[\x09\x0a\x0d\x20-\x7e\u00a0-\ufffc]*$/.test(sample)) {
    return {
      kind: "other",
      what: `a text file starting "${text.slice(0, 40).replace(/\s+/g, " ")}"`,
      hint: "Point Gotong at the model's .gguf or .safetensors file.",
    };
  }

  const hex = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return { kind: "other", what: `an unrecognised file (first bytes: ${hex})`, hint: `Gotong accepts only GGUF and safetensors. ${CONVERT_HINT}` };
}

/** Name of the first entry of a zip archive, read from its first local file header, if present. */
function zipFirstEntryName(head: Uint8Array): string | undefined {
  if (head.length < 30 || head[2] !== 3 || head[3] !== 4) return undefined;
  const nameLength = (head[26] ?? 0) | ((head[27] ?? 0) << 8);
  if (nameLength === 0 || 30 + nameLength > head.length) return undefined;
  const name = new TextDecoder("utf-8", { fatal: false }).decode(head.subarray(30, 30 + nameLength));
  return name.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
}

/** The hint every pickle refusal carries. */
export const PICKLE_HINT =
  `Pickle runs arbitrary code when it is loaded, so Gotong never loads it. ${CONVERT_HINT}`;
