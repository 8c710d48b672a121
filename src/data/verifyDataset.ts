import { readFile } from "node:fs/promises";
import type { Address, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { isGotongError, type GotongError } from "../common/errors.ts";
import { checkDatasetFiles } from "./checkDatasetFiles.ts";
import type { SignedDatasetManifest } from "./datasetManifest.ts";
import { datasetRegistryOf } from "./datasetRegistryOf.ts";
import { datasetError } from "./errors.ts";
import { loadDatasetManifest, parseSignedDatasetManifest } from "./loadDatasetManifest.ts";
import { readRegisteredDataset, type RegisteredDataset } from "./readRegisteredDataset.ts";
import { verifyDatasetManifestSignature } from "./verifyDatasetManifestSignature.ts";

/** One check `verifyDataset` made. */
export type DatasetCheck = { name: string; ok: boolean; detail: string; error?: GotongError };

/** Options of `verifyDataset`. */
export type VerifyDatasetOptions = {
  datasetId: bigint;
  /** The dataset's files; without it only the registry, manifest and signature are checked. */
  path?: string;
  /** Where dataset manifests are kept (`GOTONG_HOME/datasets`). */
  datasetsDir: string;
  /** A copy of the signed manifest to check instead of the kept one: its bytes must hash to the registry's manifestHash. */
  manifestFile?: string;
  onCheck?: (check: DatasetCheck) => void;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
};

/**
 * Checks a registered dataset end to end, each step reported through `onCheck` and the first
 * failure thrown: the registry entry; the signed manifest (kept copy or `manifestFile`) hashing
 * to the registry's `manifestHash`; its signature, which must be the registrant's (a manifest
 * signed by anyone else is forged); its deployment and content hash matching the entry; and, with
 * `path`, every file's size and sha256.
 *
 * @example const { manifest } = await verifyDataset(client, deployment, { datasetId: 1n, path: "./corpus", datasetsDir });
 */
export async function verifyDataset(client: PublicClient, deployment: Deployment, options: VerifyDatasetOptions): Promise<{ entry: RegisteredDataset; signed: SignedDatasetManifest; signer: Address }> {
  const report = (name: string, detail: string) => options.onCheck?.({ name, ok: true, detail });
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (isGotongError(error)) options.onCheck?.({ name, ok: false, detail: error.message, error });
      throw error;
    }
  };
  const entry = await step("registry", () => readRegisteredDataset(client, deployment, options.datasetId));
  report("registry", `dataset #${entry.datasetId} "${entry.name}", owned by ${entry.owner}`);
  const signed = await step("manifest", async () =>
    options.manifestFile !== undefined
      ? parseSignedDatasetManifest(await readFile(options.manifestFile, "utf8"), entry.manifestHash, options.manifestFile)
      : loadDatasetManifest(options.datasetsDir, entry.manifestHash),
  );
  report("manifest", `${entry.manifestHash}, ${signed.manifest.files.length} file(s), licence ${signed.manifest.license}`);
  // A pool registers its dataset itself: the manifest is then the pool creator's to sign.
  const registrant = entry.pool !== undefined ? entry.pool.creator : (entry.creator ?? entry.owner);
  const signer = await step("signature", () => verifyDatasetManifestSignature(signed, { signer: registrant, chainId: deployment.chainId, datasetRegistry: datasetRegistryOf(deployment) }));
  report("signature", `signed by ${signer}, who ${entry.pool !== undefined ? `created its pool ${entry.pool.address}` : "registered it"}`);
  await step("registry entry", async () => {
    if (signed.manifest.contentHash !== entry.contentHash || signed.manifest.name !== entry.name) {
      throw datasetError("dataset_manifest_mismatch", `The registry holds dataset #${entry.datasetId} as "${entry.name}" with content ${entry.contentHash}, but its manifest says "${signed.manifest.name}" with ${signed.manifest.contentHash}.`, {
        hint: "Do not trust this dataset: its registration and its signed manifest disagree.",
      });
    }
  });
  report("registry entry", `content ${entry.contentHash} and name match the manifest`);
  if (options.path !== undefined) {
    const path = options.path;
    await step("files", () => checkDatasetFiles(path, signed.manifest, { signal: options.signal, onProgress: options.onProgress }));
    report("files", `${signed.manifest.files.length} file(s) of ${path} match the signed sizes and sha256`);
  }
  return { entry, signed, signer };
}
