import { open, type FileHandle } from "node:fs/promises";
import { GotongError } from "../common/errors.ts";
import { modelFileError } from "./modelFileError.ts";

/**
 * Opens the model file at `path`, refuses anything but a regular file, runs `read` with the open
 * handle and the file's size, and closes the file however `read` ends. `extension` names the kind
 * of file the hint asks for.
 *
 * @example await withModelFile(path, ".gguf", (handle, size) => readHeader(handle, size))
 */
export async function withModelFile<T>(path: string, extension: string, read: (handle: FileHandle, size: number) => Promise<T>): Promise<T> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw modelFileError(path, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new GotongError(`${path} is not a regular file.`, { code: "model_file_unreadable", hint: `Point to the model's ${extension} file.` });
    }
    return await read(handle, stats.size);
  } finally {
    await handle.close();
  }
}
