import { GotongError } from "../common/errors.ts";
import { checkManifestField } from "./checkManifestField.ts";
import { computeWeightsHash } from "./computeWeightsHash.ts";
import { LINEAGE_LIMITS } from "./lineageLimits.ts";
import type { ModelManifest } from "./modelManifest.ts";
import { printable } from "./printable.ts";

const REQUIRED = ["schema", "name", "version", "format", "files", "weightsHash", "architecture", "license", "royaltyBps", "creator", "chainId", "modelRegistry"] as const;
const OPTIONAL = ["parameterCount", "contextLength", "parents", "datasets", "fingerprint"] as const;
const KNOWN = new Set<string>([...REQUIRED, ...OPTIONAL]);

/**
 * Checks that `value` is a well-formed `gotong.manifest/1` manifest, field by field, with no field
 * it does not know (nothing unchecked rides along inside a signature) and a `weightsHash` that
 * matches its files. Does not check the signature: see `verifyManifestSignature`.
 *
 * @example const manifest = parseManifest(JSON.parse(text).manifest);
 */
export function parseManifest(value: unknown): ModelManifest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new GotongError("The manifest is not a JSON object.", { code: "manifest_invalid" });
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KNOWN.has(key)) throw new GotongError(`The manifest has an unknown field "${printable(key)}".`, { code: "manifest_invalid", param: key, hint: "The manifest was written by a newer or a foreign tool." });
  }
  for (const key of REQUIRED) {
    if (!Object.hasOwn(record, key)) throw new GotongError(`The manifest has no "${key}".`, { code: "manifest_invalid", param: key });
    checkManifestField(key, record[key]);
  }
  for (const key of OPTIONAL) if (Object.hasOwn(record, key)) checkManifestField(key, record[key]);
  const manifest = record as ModelManifest;
  const expected = computeWeightsHash(manifest.files);
  if (manifest.weightsHash !== expected) {
    throw new GotongError(`The manifest's weightsHash ${manifest.weightsHash} does not match its files (${expected}).`, { code: "manifest_invalid", param: "weightsHash" });
  }
  // The registry refuses a stack above its cap; refusing it here keeps such a manifest from being signed.
  const stack = [...(manifest.parents ?? []), ...(manifest.datasets ?? [])].reduce((sum, entry) => sum + entry.shareBps, 0);
  if (stack > LINEAGE_LIMITS.maxStackBps) {
    throw new GotongError(`The manifest's parents and datasets take ${stack} bps of its royalty in total; at most ${LINEAGE_LIMITS.maxStackBps} are allowed.`, {
      code: "manifest_invalid",
      param: "parents",
      hint: `Lower the shares so they add up to ${LINEAGE_LIMITS.maxStackBps} bps (${LINEAGE_LIMITS.maxStackBps / 100}%) or less: the model itself keeps the rest.`,
    });
  }
  return manifest;
}
