import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { basename, isAbsolute, join, relative, sep } from "node:path";
import { GotongError } from "../common/errors.ts";
import { CONTROL_CHARACTER } from "./printable.ts";

/** One file of a model on disk. */
export type ModelFileEntry = {
  /** Relative POSIX path inside the folder (for a single file, its name). */
  path: string;
  /** Where to read it (symlinks inside the folder already resolved). */
  absolute: string;
  size: number;
};

/** A model file or folder, listed. */
export type ModelFileList = {
  /** The folder, or the file itself when a single file was given (real path). */
  root: string;
  /** True when a single file was given rather than a folder. */
  single: boolean;
  /** Sorted by path. */
  files: ModelFileEntry[];
};

// Models are flat or nearly so; these only bound what a hostile or mistaken folder can cost.
const MAX_FILES = 10_000;
const MAX_DEPTH = 8;

/**
 * Lists the files of a model given as one file or a folder, refusing what could smuggle bytes from
 * elsewhere: symlinks that leave the folder (or dangle), symlinked folders, names with a backslash
 * or control characters, and anything that is neither a file nor a folder. Subfolders are walked.
 * Formats are not looked at here: see `describeModelFiles`.
 *
 * @example const { files } = await listModelFiles("./my-model");
 */
export async function listModelFiles(path: string, options: { signal?: AbortSignal } = {}): Promise<ModelFileList> {
  let root: string;
  try {
    // The path the user named may itself be a link (e.g. a Hugging Face cache snapshot): follow it.
    root = await realpath(path);
  } catch (error) {
    throw notFound(path, error);
  }
  const rootStats = await stat(root);
  if (rootStats.isFile()) return { root, single: true, files: [{ path: checkName(basename(path), path), absolute: root, size: rootStats.size }] };
  if (!rootStats.isDirectory()) throw new GotongError(`${path} is neither a file nor a folder.`, { code: "model_file_unreadable", hint: "Point to a model file or a folder of model files." });

  const files: ModelFileEntry[] = [];
  const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
    options.signal?.throwIfAborted();
    if (depth > MAX_DEPTH) throw new GotongError(`${path} nests folders more than ${MAX_DEPTH} deep.`, { code: "model_folder_invalid", hint: "Keep the model's files in one folder." });
    const entries = await readdir(dir);
    for (const name of entries) {
      const rel = prefix === "" ? checkName(name, join(dir, name)) : `${prefix}/${checkName(name, join(dir, name))}`;
      const absolute = join(dir, name);
      const info = await lstat(absolute);
      if (info.isDirectory()) {
        await walk(absolute, rel, depth + 1);
        continue;
      }
      let target = absolute;
      let size = info.size;
      if (info.isSymbolicLink()) {
        try {
          target = await realpath(absolute);
        } catch (error) {
          throw new GotongError(`${rel} in ${path} is a broken symlink.`, { code: "model_symlink_escapes", status: 422, hint: "Remove it or replace it with the file.", cause: error });
        }
        const inside = relative(root, target);
        if (inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
          throw new GotongError(`${rel} in ${path} is a symlink that leaves the folder (to ${target}).`, {
            code: "model_symlink_escapes",
            status: 422,
            hint: "Everything a model is made of must be inside its folder: copy the file in instead of linking to it.",
          });
        }
        const targetInfo = await stat(target);
        if (!targetInfo.isFile()) {
          throw new GotongError(`${rel} in ${path} is a symlink to a folder; symlinked folders are not followed.`, { code: "model_folder_invalid", status: 422, hint: "Replace the link with the files themselves." });
        }
        size = targetInfo.size;
      } else if (!info.isFile()) {
        throw new GotongError(`${rel} in ${path} is not a regular file (a device, socket or pipe).`, { code: "model_folder_invalid", status: 422, hint: "Remove it from the model's folder." });
      }
      files.push({ path: rel, absolute: target, size });
      if (files.length > MAX_FILES) throw new GotongError(`${path} holds more than ${MAX_FILES} files.`, { code: "model_folder_invalid", hint: "Point to the model's own folder." });
    }
  };
  try {
    await walk(root, "", 0);
  } catch (error) {
    if (error instanceof GotongError || options.signal?.aborted) throw error;
    throw new GotongError(`Cannot list ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, { code: "model_file_unreadable", cause: error });
  }
  if (files.length === 0) throw new GotongError(`${path} is an empty folder.`, { code: "model_folder_invalid", hint: "Point to a folder holding the model's files." });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { root, single: false, files };
}

/** A file name that can go into a manifest path as is. */
function checkName(name: string, where: string): string {
  if (name.includes("\\") || CONTROL_CHARACTER.test(name) || name === "." || name === "..") {
    throw new GotongError(`${JSON.stringify(where)} has a name with a backslash or control characters.`, { code: "model_folder_invalid", status: 422, hint: "Rename the file." });
  }
  return name;
}

function notFound(path: string, error: unknown): GotongError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new GotongError(`Model not found: ${path}`, { code: "model_file_not_found", status: 404, hint: "Check the path.", cause: error });
  return new GotongError(`Cannot read ${path} (${code ?? String(error)}).`, { code: "model_file_unreadable", cause: error });
}
