import { getAddress, isAddress } from "viem";
import { isGotongError } from "../common/errors.ts";
import { checkManifestField } from "../model/checkManifestField.ts";
import { computeWeightsHash } from "../model/computeWeightsHash.ts";
import { printable } from "../model/printable.ts";
import { DATASET_MANIFEST_SCHEMA, type DatasetManifest } from "./datasetManifest.ts";
import { datasetError } from "./errors.ts";

const KEYS = ["schema", "name", "version", "files", "contentHash", "license", "owners", "sealed", "creator", "chainId", "datasetRegistry"] as const;
const KNOWN = new Set<string>(KEYS);
const MAX_OWNERS = 1000;

/**
 * Checks that `value` is a well-formed `gotong.dataset/1` manifest: every field, no unknown field
 * (nothing unchecked rides inside a signature), owners sorted without duplicates whose shares add
 * up to exactly 10000 bps, and a `contentHash` that matches its files. Name, version, licence and
 * files follow the model manifest's rules. Does not check the signature: see
 * `verifyDatasetManifestSignature`. Throws `dataset_manifest_invalid`, naming the field.
 *
 * @example const manifest = parseDatasetManifest(JSON.parse(text).manifest);
 */
export function parseDatasetManifest(value: unknown): DatasetManifest {
  const fail = (field: string, what: string, hint?: string): never => {
    throw datasetError("dataset_manifest_invalid", `The dataset manifest's "${field}" ${what}.`, { param: field, hint });
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw datasetError("dataset_manifest_invalid", "The dataset manifest is not a JSON object.");
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!KNOWN.has(key)) fail(printable(key), "is not a field of gotong.dataset/1", "The manifest was written by a newer or a foreign tool.");
  for (const key of KEYS) if (!Object.hasOwn(record, key)) fail(key, "is missing");
  if (record.schema !== DATASET_MANIFEST_SCHEMA) fail("schema", `is ${JSON.stringify(record.schema)}, expected "${DATASET_MANIFEST_SCHEMA}"`);
  for (const key of ["name", "version", "license", "files", "chainId"] as const) {
    try {
      checkManifestField(key, record[key]);
    } catch (error) {
      // The model rules, said of the dataset manifest.
      if (isGotongError(error, "manifest_invalid")) fail(key, error.message.replace(/^Manifest field "[^"]+" /, "").replace(/\.$/, ""), error.hint);
      throw error;
    }
  }
  for (const key of ["creator", "datasetRegistry"] as const) {
    const address = record[key];
    if (typeof address !== "string" || !isAddress(address, { strict: false }) || getAddress(address) !== address) fail(key, "must be an EIP-55 checksummed address");
  }
  if (typeof record.sealed !== "boolean") fail("sealed", "must be true or false");
  if (typeof record.contentHash !== "string" || !/^0x[0-9a-f]{64}$/.test(record.contentHash)) fail("contentHash", "must be 0x and 64 lowercase hex digits");
  checkOwners(record.owners, fail);
  const manifest = record as DatasetManifest;
  const expected = computeWeightsHash(manifest.files);
  if (manifest.contentHash !== expected) fail("contentHash", `is ${manifest.contentHash}, but its files hash to ${expected}`, "The manifest was altered after it was written: do not trust it.");
  return manifest;
}

function checkOwners(value: unknown, fail: (field: string, what: string, hint?: string) => never): void {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_OWNERS) fail("owners", `must list 1 to ${MAX_OWNERS} owners`);
  let total = 0;
  let previous: string | undefined;
  for (const [i, owner] of (value as unknown[]).entries()) {
    if (typeof owner !== "object" || owner === null || Object.keys(owner).sort().join(",") !== "address,shareBps") fail("owners", `[${i}] must have exactly address and shareBps`);
    const { address, shareBps } = owner as { address: unknown; shareBps: unknown };
    if (typeof address !== "string" || !isAddress(address, { strict: false }) || getAddress(address) !== address) fail("owners", `[${i}].address must be an EIP-55 checksummed address`);
    if (!Number.isInteger(shareBps) || (shareBps as number) < 1 || (shareBps as number) > 10_000) fail("owners", `[${i}].shareBps must be an integer from 1 to 10000`);
    const lower = (address as string).toLowerCase();
    if (previous !== undefined && !(previous < lower)) fail("owners", `must be sorted by address without duplicates (${address as string} comes after ${previous})`);
    previous = lower;
    total += shareBps as number;
  }
  if (total !== 10_000) fail("owners", `shares add up to ${total} bps, not 10000`, "Every unit a dataset earns goes to exactly one owner: give the shares so they add up to 100%.");
}
