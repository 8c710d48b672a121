import { GotongError } from "../common/errors.ts";

/** The error for a model file that cannot be opened or read, naming the path and what to check. */
export function modelFileError(path: string, error: unknown): GotongError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") {
    return new GotongError(`Model file not found: ${path}`, { code: "model_file_not_found", status: 404, hint: "Check the path.", cause: error });
  }
  return new GotongError(`Cannot read ${path} (${code ?? String(error)}).`, {
    code: "model_file_unreadable",
    hint: code === "EACCES" || code === "EPERM" ? "Check the file's permissions." : "Check that the path is a readable file.",
    cause: error,
  });
}
