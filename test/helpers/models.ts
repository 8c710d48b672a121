import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** The folder of real small models kept beside the project (absent on some machines). */
export const sharedModelsDir = resolve(import.meta.dirname, "../../../shared/models");

/**
 * Path of a shared test model, or undefined (after printing why) when it is absent, so tests that
 * need it can skip with a reason.
 */
export function sharedModel(file: "stories260K.gguf" | "llama-2-tiny-random.gguf"): string | undefined {
  const path = join(sharedModelsDir, file);
  if (existsSync(path)) return path;
  console.warn(`[skip] ${file} is not in ${sharedModelsDir}: tests that need this real model are skipped`);
  return undefined;
}
