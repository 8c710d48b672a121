import { getAddress, isAddress, type Address } from "viem";
import { DATASET_GRANT_SCHEMA, type DatasetGrant } from "./datasetGrant.ts";
import { DATASET_GRANT_APPROVAL_SCHEMA, DATASET_POOL_GRANT_SCHEMA, type DatasetGrantApproval, type DatasetGrantApprovalSignature, type DatasetPoolGrant } from "./datasetPoolGrant.ts";
import { datasetError } from "./errors.ts";

const PLAIN_FIELDS = "chainId,datasetId,datasetRegistry,enc,granter,recipientPublicKey,schema,sealedKey,signature";
const POOL_FIELDS = "approvals,atBlock,chainId,datasetId,datasetRegistry,enc,granter,pool,recipientPublicKey,schema,sealedKey,signature";
const APPROVAL_FIELDS = "atBlock,chainId,datasetId,datasetRegistry,grantHash,holder,pool,recipientPublicKey,schema,signature";

const fail = (what: string, hint = "A grant is the JSON `gotong data grant` writes: pass it unchanged.") => datasetError("dataset_grant_invalid", `The grant ${what}.`, { hint });

/**
 * A grant file's shape, field by field: a plain grant (`gotong.dataset-grant/1`, signed by the
 * dataset's owner) or a pool grant (`gotong.dataset-pool-grant/1`, with holders' approvals).
 * Throws `dataset_grant_invalid`, naming the first field that is wrong.
 *
 * @example const grant = parseDatasetGrant(JSON.parse(text));
 */
export function parseDatasetGrant(value: unknown): DatasetGrant | DatasetPoolGrant {
  const g = objectOf(value);
  if (g.schema === DATASET_POOL_GRANT_SCHEMA) return parsePoolGrant(g);
  if (g.schema !== DATASET_GRANT_SCHEMA) throw fail(`schema is ${JSON.stringify(g.schema)}, expected "${DATASET_GRANT_SCHEMA}" or "${DATASET_POOL_GRANT_SCHEMA}"`);
  exactFields(g, PLAIN_FIELDS);
  return grantCore(g) as DatasetGrant;
}

/** A pool grant (or grant request, with no approvals) only. */
export function parseDatasetPoolGrant(value: unknown): DatasetPoolGrant {
  const g = objectOf(value);
  if (g.schema !== DATASET_POOL_GRANT_SCHEMA) throw fail(`schema is ${JSON.stringify(g.schema)}, expected "${DATASET_POOL_GRANT_SCHEMA}" (a grant request of a pool's dataset)`);
  return parsePoolGrant(g);
}

/**
 * One holder's approval file (`gotong data approve-grant`). Throws `dataset_grant_invalid`.
 *
 * @example const approval = parseDatasetGrantApproval(JSON.parse(text));
 */
export function parseDatasetGrantApproval(value: unknown): DatasetGrantApproval {
  const hint = "An approval is the JSON `gotong data approve-grant` writes: pass it unchanged.";
  if (typeof value !== "object" || value === null || Object.keys(value).sort().join(",") !== APPROVAL_FIELDS) throw fail(`approval must be an object with exactly ${APPROVAL_FIELDS.split(",").join(", ")}`, hint);
  const a = value as Record<string, unknown>;
  if (a.schema !== DATASET_GRANT_APPROVAL_SCHEMA) throw fail(`approval's schema is ${JSON.stringify(a.schema)}, expected "${DATASET_GRANT_APPROVAL_SCHEMA}"`, hint);
  decimalId(a.datasetId, "datasetId");
  decimalBlock(a.atBlock);
  if (!Number.isSafeInteger(a.chainId) || (a.chainId as number) < 1) throw fail("approval's chainId is not a positive integer", hint);
  for (const key of ["datasetRegistry", "pool", "holder"]) address(a[key], key);
  for (const key of ["recipientPublicKey", "grantHash"]) if (typeof a[key] !== "string" || !/^0x[0-9a-f]{64}$/.test(a[key] as string)) throw fail(`approval's ${key} is not 32 bytes of lowercase hex`, hint);
  signatureHex(a.signature, "approval's signature");
  return { ...(a as DatasetGrantApproval), datasetRegistry: getAddress(a.datasetRegistry as string), pool: getAddress(a.pool as string), holder: getAddress(a.holder as string) };
}

function parsePoolGrant(g: Record<string, unknown>): DatasetPoolGrant {
  exactFields(g, POOL_FIELDS);
  const core = grantCore(g);
  address(g.pool, "pool");
  decimalBlock(g.atBlock);
  if (!Array.isArray(g.approvals)) throw fail("approvals is not a list");
  const approvals = g.approvals.map((a, i): DatasetGrantApprovalSignature => {
    if (typeof a !== "object" || a === null || Object.keys(a).sort().join(",") !== "holder,signature") throw fail(`approval ${i + 1} must be an object with exactly holder, signature`);
    const { holder, signature } = a as Record<string, unknown>;
    address(holder, `approval ${i + 1}'s holder`);
    signatureHex(signature, `approval ${i + 1}'s signature`);
    return { holder: getAddress(holder as string), signature: signature as DatasetGrantApprovalSignature["signature"] };
  });
  return { ...(core as unknown as DatasetPoolGrant), pool: getAddress(g.pool as string), atBlock: g.atBlock as string, approvals };
}

function objectOf(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail("is not a JSON object");
  return value as Record<string, unknown>;
}

function exactFields(g: Record<string, unknown>, fields: string) {
  if (Object.keys(g).sort().join(",") !== fields) throw fail(`must be an object with exactly ${fields.split(",").join(", ")}`);
}

/** The fields a plain grant and a pool grant share: what the granter signs, and its signature. */
function grantCore(g: Record<string, unknown>): Record<string, unknown> {
  decimalId(g.datasetId, "datasetId");
  if (!Number.isSafeInteger(g.chainId) || (g.chainId as number) < 1) throw fail("chainId is not a positive integer");
  for (const key of ["datasetRegistry", "granter"]) address(g[key], key);
  for (const key of ["recipientPublicKey", "enc"]) if (typeof g[key] !== "string" || !/^0x[0-9a-f]{64}$/.test(g[key] as string)) throw fail(`${key} is not 32 bytes of lowercase hex`);
  if (typeof g.sealedKey !== "string" || !/^0x[0-9a-f]{96}$/.test(g.sealedKey)) throw fail("sealedKey is not 48 bytes of lowercase hex");
  signatureHex(g.signature, "signature");
  return { ...g, datasetRegistry: getAddress(g.datasetRegistry as string), granter: getAddress(g.granter as string) };
}

function decimalId(value: unknown, name: string) {
  if (typeof value !== "string" || !/^[1-9]\d{0,77}$/.test(value)) throw fail(`${name} is not a decimal id`);
}

function decimalBlock(value: unknown) {
  if (typeof value !== "string" || !/^(0|[1-9]\d{0,77})$/.test(value)) throw fail("atBlock is not a decimal block number");
}

function address(value: unknown, name: string): asserts value is Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) throw fail(`${name} is not an address`);
}

function signatureHex(value: unknown, name: string) {
  if (typeof value !== "string" || !/^0x[0-9a-f]{130}$/.test(value)) throw fail(`${name} is not 65 bytes of lowercase hex`);
}
