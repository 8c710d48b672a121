import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { canonicalJson } from "../model/canonicalJson.ts";
import { sha256Hex } from "../model/sha256Hex.ts";
import type { SignedDatasetManifest } from "./datasetManifest.ts";
import { datasetError } from "./errors.ts";
import { parseDatasetManifest } from "./parseDatasetManifest.ts";

const MAX_BYTES = 16 * 1024 * 1024;

/**
 * Reads a signed dataset manifest envelope from `text`, checking that it is canonical JSON of
 * `{ manifest, signature }` with a well-formed manifest. When `manifestHash` is given the bytes
 * must hash to it (the registry's commitment). The signature is not checked here.
 *
 * @example const signed = parseSignedDatasetManifest(await readFile(file, "utf8"), entry.manifestHash);
 */
export function parseSignedDatasetManifest(text: string, manifestHash?: Hex, where = "the dataset manifest"): SignedDatasetManifest {
  if (manifestHash !== undefined && `0x${sha256Hex(text)}` !== manifestHash.toLowerCase()) {
    throw datasetError("dataset_manifest_mismatch", `${where} was altered: its sha256 is 0x${sha256Hex(text)}, not the ${manifestHash} the registry holds.`, { hint: "Do not trust this copy: get the creator's manifest again." });
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (cause) {
    throw datasetError("dataset_manifest_invalid", `${where} is not valid JSON.`, { cause });
  }
  if (typeof envelope !== "object" || envelope === null || Object.keys(envelope).sort().join(",") !== "manifest,signature") {
    throw datasetError("dataset_manifest_invalid", `${where} is not a signed envelope { manifest, signature }.`);
  }
  const { manifest, signature } = envelope as { manifest: unknown; signature: unknown };
  const signed = { manifest: parseDatasetManifest(manifest), signature } as SignedDatasetManifest;
  if (manifestHash !== undefined && canonicalJson(signed) !== text) throw datasetError("dataset_manifest_invalid", `${where} is not in canonical form.`);
  return signed;
}

/**
 * Loads the signed dataset manifest kept in `dir` under `manifestHash` (see `storeDatasetManifest`).
 * Throws `dataset_manifest_not_found`, `dataset_manifest_mismatch` or `dataset_manifest_invalid`.
 *
 * @example const signed = await loadDatasetManifest(datasetsDir, entry.manifestHash);
 */
export async function loadDatasetManifest(dir: string, manifestHash: Hex): Promise<SignedDatasetManifest> {
  const path = join(dir, `${manifestHash.slice(2).toLowerCase()}.json`);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw datasetError("dataset_manifest_not_found", `Dataset manifest ${manifestHash} not found in ${dir}.`, {
      status: 404,
      hint: "Dataset manifests are kept where the dataset was published (GOTONG_HOME/datasets): copy the creator's <hash>.json here, or pass --manifest FILE.",
      cause,
    });
  }
  if (text.length > MAX_BYTES) throw datasetError("dataset_manifest_invalid", `${path} is too large to be a dataset manifest.`);
  return parseSignedDatasetManifest(text, manifestHash, path);
}
