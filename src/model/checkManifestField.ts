import { getAddress, isAddress } from "viem";
import { GotongError } from "../common/errors.ts";
import { MANIFEST_SCHEMA, type ModelManifest } from "./modelManifest.ts";
import { CONTROL_CHARACTER } from "./printable.ts";

/** The loose SPDX expression check: ids joined by AND, OR or WITH (parentheses are not supported). */
const SPDX = /^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$/;
/** Semver-ish: 1, 1.2, 1.2.3, 1.2.3.4, with an optional pre-release and build. */
const VERSION = /^\d{1,9}(\.\d{1,9}){0,3}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const ARCHITECTURE = /^[A-Za-z0-9_.+-]{1,128}$/;
const MAX_FILES = 10_000;

/**
 * Checks one manifest field against the rules every manifest must follow, throwing a GotongError
 * (`manifest_invalid`, `param` = the field) that says what is wrong. The same rules serve when a
 * manifest is read and when a creator's options are checked before hours of hashing.
 *
 * @example checkManifestField("license", "MIT OR Apache-2.0")
 */
export function checkManifestField<K extends keyof ModelManifest>(field: K, value: unknown): asserts value is ModelManifest[K] {
  const fail = (what: string, hint?: string): never => {
    throw new GotongError(`Manifest field "${field}" ${what}.`, { code: "manifest_invalid", param: field, hint });
  };
  switch (field) {
    case "schema":
      if (value !== MANIFEST_SCHEMA) fail(`is ${JSON.stringify(value)}, expected "${MANIFEST_SCHEMA}"`, "The manifest was written by a newer or a foreign tool.");
      return;
    case "name":
      if (typeof value !== "string" || value.length === 0 || value.length > 200) fail("must be a string of 1 to 200 characters");
      if (CONTROL_CHARACTER.test(value as string) || (value as string).trim() !== value) fail("must not contain control characters or start or end with spaces");
      return;
    case "version":
      if (typeof value !== "string" || value.length > 64 || !VERSION.test(value)) fail(`is ${JSON.stringify(value)}, not a version like 1.0.0`, "Use a semantic version: 1.0.0, 2.1, 1.0.0-beta.1.");
      return;
    case "format":
      if (value !== "gguf" && value !== "safetensors") fail(`is ${JSON.stringify(value)}, expected "gguf" or "safetensors"`);
      return;
    case "architecture":
      if (typeof value !== "string" || !ARCHITECTURE.test(value)) fail(`is ${JSON.stringify(value)}: use letters, digits and _ . + - (at most 128)`);
      return;
    case "license":
      if (typeof value !== "string" || value.length > 256 || !SPDX.test(value)) {
        fail(`is ${JSON.stringify(value)}, not an SPDX licence expression`, "Use an SPDX id such as Apache-2.0, MIT, or an expression like \"MIT OR Apache-2.0\" (see https://spdx.org/licenses/).");
      }
      return;
    case "royaltyBps":
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 10_000) fail("must be an integer number of basis points from 0 to 10000 (1000 = 10%)");
      return;
    case "parameterCount":
      if (!Number.isSafeInteger(value) || (value as number) < 0) fail("must be a non-negative integer");
      return;
    case "contextLength":
    case "chainId":
      if (!Number.isSafeInteger(value) || (value as number) < 1) fail("must be a positive integer");
      return;
    case "creator":
    case "modelRegistry":
      if (typeof value !== "string" || !isAddress(value, { strict: false }) || getAddress(value) !== value) fail("must be an EIP-55 checksummed address");
      return;
    case "weightsHash":
      if (typeof value !== "string" || !/^0x[0-9a-f]{64}$/.test(value)) fail("must be 0x and 64 lowercase hex digits");
      return;
    case "files":
      checkFiles(value, fail);
      return;
    default:
      fail("is not part of the manifest schema");
  }
}

function checkFiles(value: unknown, fail: (what: string, hint?: string) => never): void {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_FILES) fail(`must list 1 to ${MAX_FILES} files`);
  let previous: string | undefined;
  for (const [i, file] of (value as unknown[]).entries()) {
    if (typeof file !== "object" || file === null || Array.isArray(file)) fail(`[${i}] is not an object`);
    const keys = Object.keys(file as object).sort().join(",");
    if (keys !== "path,sha256,size") fail(`[${i}] must have exactly path, sha256 and size`);
    const { path, sha256, size } = file as { path: unknown; sha256: unknown; size: unknown };
    if (typeof path !== "string") fail(`[${i}].path is not a string`);
    const problem = pathProblem(path as string);
    if (problem !== undefined) fail(`[${i}].path ${JSON.stringify(path).slice(0, 120)} ${problem}`, "A manifest may only name files inside the model's folder.");
    if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) fail(`[${i}].sha256 must be 64 lowercase hex digits`);
    if (!Number.isSafeInteger(size) || (size as number) < 0) fail(`[${i}].size must be a non-negative integer`);
    // Strictly increasing: one canonical order, and no file listed twice.
    if (previous !== undefined && !(previous < (path as string))) fail(`must be sorted by path without duplicates ("${path as string}" comes after "${previous}")`);
    previous = path as string;
  }
}

/** Why a manifest path is unsafe to join to a folder, or undefined when it is fine. */
function pathProblem(path: string): string | undefined {
  if (path.length === 0 || path.length > 1024) return "must be 1 to 1024 characters";
  if (CONTROL_CHARACTER.test(path)) return "contains control characters";
  if (path.includes("\\")) return "contains a backslash (paths are POSIX)";
  if (path.startsWith("/")) return "is absolute";
  for (const part of path.split("/")) {
    if (part === "") return "has an empty segment";
    if (part === "." || part === "..") return `has a "${part}" segment`;
  }
  if (/^[A-Za-z]:/.test(path)) return "starts with a drive letter";
  return undefined;
}
