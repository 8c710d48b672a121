import type { FileHandle } from "node:fs/promises";

/** Fills `buffer` from `from` to its end with the file's bytes at the same offsets; returns bytes filled. */
export async function fillFromFile(handle: FileHandle, buffer: Uint8Array, from: number): Promise<number> {
  let filled = from;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}
