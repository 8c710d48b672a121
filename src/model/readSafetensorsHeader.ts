import { GotongError, isGotongError } from "../common/errors.ts";
import { parseSafetensorsHeader, type SafetensorsHeader } from "./parseSafetensorsHeader.ts";
import { fillFromFile } from "./fillFromFile.ts";
import { withModelFile } from "./withModelFile.ts";

/** Options of `readSafetensorsHeader`. */
export type ReadSafetensorsHeaderOptions = {
  /** Cancels the read. */
  signal?: AbortSignal;
};

/**
 * Reads and checks the header of the safetensors file at `path`: the 8-byte length first, then
 * exactly that many bytes, and only once the length is known to be within 100 MB and within the
 * file. Tensor data is never read.
 *
 * @example const { tensors, metadata } = await readSafetensorsHeader("model.safetensors");
 */
export async function readSafetensorsHeader(path: string, options: ReadSafetensorsHeaderOptions = {}): Promise<SafetensorsHeader> {
  const { signal } = options;
  signal?.throwIfAborted();
  return withModelFile(path, ".safetensors", async (handle, size) => {
    const fileSize = BigInt(size);
    const prefix = new Uint8Array(Math.min(8, size));
    await fillFromFile(handle, prefix, 0);
    let dataOffset: number;
    try {
      // With only the prefix, the parser checks the length against the limit and the file size and
      // then asks for more: only a length that passed those checks is ever allocated.
      return parseSafetensorsHeader(prefix, { fileSize });
    } catch (error) {
      if (!isGotongError(error, "safetensors_header_incomplete")) throw error;
      dataOffset = 8 + Number(new DataView(prefix.buffer).getBigUint64(0, true));
    }
    signal?.throwIfAborted();
    const header = new Uint8Array(dataOffset);
    header.set(prefix);
    if ((await fillFromFile(handle, header, 8)) < dataOffset) {
      throw new GotongError(`${path} changed size while it was being read.`, {
        code: "safetensors_truncated",
        status: 422,
        hint: "Wait for whatever is writing the file to finish, then try again.",
      });
    }
    return parseSafetensorsHeader(header, { fileSize });
  });
}
