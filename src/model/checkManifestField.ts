import { getAddress, isAddress } from "viem";
import { GotongError } from "../common/errors.ts";
import { MANIFEST_SCHEMA, type ModelManifest } from "./modelManifest.ts";
import { LINEAGE_LIMITS } from "./lineageLimits.ts";
import { MODEL_RELATIONS } from "./modelRelation.ts";
import { CONTROL_CHARACTER } from "./printable.ts";

/** The loose SPDX expression check: ids joined by AND, OR or WITH (parentheses are not supported). */
const SPDX = /^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$/;
/** Semver-ish: 1, 1.2, 1.2.3, 1.2.3.4, with an optional pre-release and build. */
const VERSION = /^\d{1,9}(\.\d{1,9}){0,3}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const ARCHITECTURE = /^[A-Za-z0-9_.+-]{1,128}$/;
const MAX_FILES = 10_000;
/** A uint256 id as a decimal string: no sign, no leading zero, not zero, at most 78 digits. */
const TOKEN_ID = /^[1-9][0-9]{0,77}$/;
const MAX_UINT256 = (1n << 256n) - 1n;
const HEX64 = /^[0-9a-f]{64}$/;

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
    case "parents":
      checkShares(value, "modelId", LINEAGE_LIMITS.maxParents, fail);
      for (const [i, parent] of (value as { relation: unknown }[]).entries()) {
        if (!MODEL_RELATIONS.includes(parent.relation as never)) fail(`[${i}].relation is ${JSON.stringify(parent.relation)}, not one of ${MODEL_RELATIONS.join(", ")}`);
      }
      return;
    case "datasets":
      checkShares(value, "datasetId", LINEAGE_LIMITS.maxDatasets, fail);
      return;
    case "fingerprint":
      checkFingerprint(value, fail);
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

/**
 * A list of `{ <idKey>, shareBps[, relation] }`, sorted by id without duplicates (one canonical
 * order, and a parent or dataset cannot be paid twice), each share 0–10000 bps. The total against
 * the stack cap is checked by `parseManifest`, which sees parents and datasets together.
 */
function checkShares(value: unknown, idKey: "modelId" | "datasetId", max: number, fail: (what: string, hint?: string) => never): void {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) fail(`must list 1 to ${max} entries (leave it out when there are none)`);
  const expected = idKey === "modelId" ? "modelId,relation,shareBps" : "datasetId,shareBps";
  let previous: bigint | undefined;
  for (const [i, entry] of (value as unknown[]).entries()) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail(`[${i}] is not an object`);
    if (Object.keys(entry as object).sort().join(",") !== expected) fail(`[${i}] must have exactly ${expected.split(",").join(", ")}`);
    const { [idKey]: id, shareBps } = entry as Record<string, unknown>;
    if (typeof id !== "string" || !TOKEN_ID.test(id) || BigInt(id) > MAX_UINT256) fail(`[${i}].${idKey} must be a registry id as a decimal string ("7")`);
    if (!Number.isInteger(shareBps) || (shareBps as number) < 0 || (shareBps as number) > 10_000) fail(`[${i}].shareBps must be an integer number of basis points from 0 to 10000`);
    const current = BigInt(id as string);
    if (previous !== undefined && !(previous < current)) fail(`must be sorted by ${idKey} without duplicates (${current} comes after ${previous})`, current === previous ? `${idKey} ${current} is named twice: name it once, with its whole share.` : undefined);
    previous = current;
  }
}

const FINGERPRINT_KEYS = new Set(["architecture", "tensorsHash", "tensorCount", "vocabularyHash", "vocabularySize", "baseModels"]);

/** A fingerprint as `computeModelFingerprint` writes it, and nothing else. */
function checkFingerprint(value: unknown, fail: (what: string, hint?: string) => never): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("is not an object");
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!FINGERPRINT_KEYS.has(key)) fail(`has an unknown field ${JSON.stringify(key).slice(0, 80)}`);
  if (typeof record.architecture !== "string" || !ARCHITECTURE.test(record.architecture)) fail(".architecture must be letters, digits and _ . + - (at most 128)");
  if (typeof record.tensorsHash !== "string" || !HEX64.test(record.tensorsHash)) fail(".tensorsHash must be 64 lowercase hex digits");
  if (!Number.isSafeInteger(record.tensorCount) || (record.tensorCount as number) < 0) fail(".tensorCount must be a non-negative integer");
  if ((record.vocabularyHash === undefined) !== (record.vocabularySize === undefined)) fail(".vocabularyHash and .vocabularySize go together");
  if (record.vocabularyHash !== undefined && (typeof record.vocabularyHash !== "string" || !HEX64.test(record.vocabularyHash))) fail(".vocabularyHash must be 64 lowercase hex digits");
  if (record.vocabularySize !== undefined && (!Number.isSafeInteger(record.vocabularySize) || (record.vocabularySize as number) < 1)) fail(".vocabularySize must be a positive integer");
  if (record.baseModels !== undefined) {
    const list = record.baseModels;
    if (!Array.isArray(list) || list.length === 0 || list.length > 16) fail(".baseModels must list 1 to 16 entries");
    for (const item of list as unknown[]) if (typeof item !== "string" || item.length === 0 || item.length > 1024 || CONTROL_CHARACTER.test(item)) fail(".baseModels entries must be 1 to 1024 characters without control characters");
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
