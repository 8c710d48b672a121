import { GotongError } from "../common/errors.ts";

/** Turns a file-system failure while writing `path` into a GotongError that says what to do. */
export function diskError(path: string, error: unknown): GotongError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const hints: Record<string, string> = {
    ENOSPC: "The disk is full: free some space (or point GOTONG_HOME at a larger disk) and try again.",
    EDQUOT: "Your disk quota is used up: free some space and try again.",
    EACCES: "Check that you may write to that folder.",
    EPERM: "Check that you may write to that folder.",
    EROFS: "The file system is read-only: choose a writable folder.",
    ENOENT: "The folder does not exist or was removed while writing.",
    ENOTDIR: "A part of the path is a file, not a folder.",
    EISDIR: "The destination is a folder: give a file path.",
    EMFILE: "Too many open files: close other programs or raise the limit (ulimit -n).",
  };
  return new GotongError(`Cannot write ${path}${code ? ` (${code})` : ""}.`, {
    code: "model_disk_error",
    status: 507,
    hint: (code && hints[code]) ?? "Check the disk and the folder's permissions.",
    retryable: code === "ENOSPC" || code === "EDQUOT" || code === "EMFILE",
    cause: error,
  });
}
