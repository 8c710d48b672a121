import { randomBytes } from "node:crypto";
import { AEAD_TAG_LENGTH, aeadOpen, aeadSealInto } from "../privacy/aead.ts";
import { isGotongError } from "../common/errors.ts";
import { datasetError } from "./errors.ts";

const NONCE_LENGTH = 12;
/** The most one sealed file may hold: files are sealed in one piece, in memory. */
export const MAX_SEALED_FILE_BYTES = 1 << 30;

/**
 * Seals one dataset file with the dataset key: nonce (12 random bytes) || ChaCha20-Poly1305
 * ciphertext || tag, with the file's path in the dataset as associated data, so a sealed file
 * cannot be passed off as another. The sealed bytes are what the manifest lists and hashes.
 *
 * @example await writeFile(out, sealDatasetFile(key, "train.jsonl", await readFile(source)));
 */
export function sealDatasetFile(datasetKey: Uint8Array, path: string, plaintext: Uint8Array): Uint8Array {
  if (plaintext.length > MAX_SEALED_FILE_BYTES) throw datasetError("dataset_file_mismatch", `${path} is ${plaintext.length} bytes; a sealed dataset file holds at most ${MAX_SEALED_FILE_BYTES}.`, { hint: "Split it into several files." });
  const out = new Uint8Array(NONCE_LENGTH + plaintext.length + AEAD_TAG_LENGTH);
  out.set(randomBytes(NONCE_LENGTH), 0);
  aeadSealInto(datasetKey, out.subarray(0, NONCE_LENGTH), new TextEncoder().encode(path), plaintext, out, NONCE_LENGTH);
  return out;
}

/**
 * Opens a file sealed by `sealDatasetFile`, or throws `dataset_file_mismatch` (wrong key, another
 * path, altered bytes: one error, since which it was is not the reader's to learn).
 *
 * @example const text = openDatasetFile(datasetKey, "train.jsonl", await readFile(sealedPath));
 */
export function openDatasetFile(datasetKey: Uint8Array, path: string, sealed: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_LENGTH + AEAD_TAG_LENGTH) throw datasetError("dataset_file_mismatch", `${path} is too short to be a sealed dataset file.`);
  try {
    return aeadOpen(datasetKey, sealed.subarray(0, NONCE_LENGTH), new TextEncoder().encode(path), sealed.subarray(NONCE_LENGTH));
  } catch (error) {
    if (!isGotongError(error, "envelope_invalid")) throw error;
    throw datasetError("dataset_file_mismatch", `${path} does not open with this dataset key: another key, another file, or altered bytes.`, { hint: "Check that the grant is for this dataset, and get the file again." });
  }
}
