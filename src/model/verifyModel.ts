import type { Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { GotongError } from "../common/errors.ts";
import { computeWeightsHash } from "./computeWeightsHash.ts";
import { findLocalManifest } from "./findLocalManifest.ts";
import { hashFile } from "./hashFile.ts";
import { hashModelFiles } from "./hashModelFiles.ts";
import { listModelFiles, type ModelFileEntry, type ModelFileList } from "./listModelFiles.ts";
import { loadManifest } from "./loadManifest.ts";
import type { ManifestFile, ModelManifest, SignedManifest } from "./modelManifest.ts";
import { readModelIdOfWeights } from "./readModelIdOfWeights.ts";
import { readRegisteredModel, type RegisteredModel } from "./readRegisteredModel.ts";
import { verifyManifestSignature } from "./verifyManifestSignature.ts";
import { hashModelFingerprint } from "./hashModelFingerprint.ts";
import { readModelFingerprint } from "./readModelFingerprint.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";

/** One thing `verifyModel` checked. */
export type ModelCheck = {
  /** `registry`, `manifest`, `signature`, `deployment`, `registry entry`, `file <path>` / `files`, or `fingerprint` (when one was registered). */
  name: string;
  ok: boolean;
  /** What was found, or what is wrong. */
  detail: string;
  /** Why it failed. */
  error?: GotongError;
};

/** Options of `verifyModel`: a model id, a path, or both. */
export type VerifyModelOptions = {
  /** The registered model to check. Without it, the model is found by the weights at `path`. */
  modelId?: bigint;
  /** The model's file or folder, to check byte for byte against the signed manifest. */
  path?: string;
  /** Where manifests are kept (`GOTONG_HOME/manifests`). */
  manifestsDir: string;
  /** Called with each check as soon as it is decided, for a CLI to print. */
  onCheck?: (check: ModelCheck) => void;
  /** Bytes hashed so far, out of the total to hash. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
};

/** A model that passed every check. */
export type VerifyModelResult = {
  modelId: bigint;
  manifestHash: Hex;
  manifest: ModelManifest;
  signer: Address;
  checks: ModelCheck[];
};

/**
 * Verifies a model end to end: the registry entry; the manifest it points to (found by its hash in
 * `manifestsDir`, intact); the creator's EIP-712 signature over it; that it is bound to this chain
 * and registry; that the registry's weights hash, name and registrant agree with it; and, given a
 * path, every file's size and sha256, with no file missing and none unsigned; and, when the model
 * was registered with a fingerprint hash, that it is the manifest's (and the GGUF files' own). Runs every check it
 * can and reports each through `onCheck`, then throws the first failure: `model_file_hash_mismatch`
 * (naming the file and both hashes), `model_file_missing`, `model_file_unsigned`,
 * `manifest_signature_mismatch`, `manifest_not_found`, `model_not_registered`…
 *
 * @example await verifyModel(client, deployment, { path: "./my-model", manifestsDir });
 */
export async function verifyModel(client: PublicClient, deployment: Deployment, options: VerifyModelOptions): Promise<VerifyModelResult> {
  const { path, manifestsDir, signal } = options;
  if (options.modelId === undefined && path === undefined) {
    throw new GotongError("Give a model id, a path, or both to verify.", { code: "invalid_arguments" });
  }
  const checks: ModelCheck[] = [];
  let firstError: GotongError | undefined;
  const record = (check: ModelCheck) => {
    checks.push(check);
    if (!check.ok) firstError ??= check.error;
    options.onCheck?.(check);
  };
  const pass = (name: string, detail: string) => record({ name, ok: true, detail });
  const fail = (name: string, error: unknown): void => {
    if (!(error instanceof GotongError)) throw error;
    record({ name, ok: false, detail: error.message, error });
  };
  const finish = (): never => {
    throw firstError ?? new GotongError("Verification failed.", { code: "model_verification_failed" });
  };

  let list: ModelFileList | undefined;
  if (path !== undefined) {
    try {
      list = await listModelFiles(path, { signal });
    } catch (error) {
      fail("files", error);
    }
  }
  const hashed = new Map<string, ManifestFile>();

  // Which model: the id given, or the one these weights (or, when they changed, the local
  // manifest that lists these files) are registered as.
  let modelId = options.modelId;
  let candidate: SignedManifest | undefined;
  if (modelId === undefined) {
    if (list === undefined) return finish();
    const files = await hashModelFiles(list.files, { signal, onProgress: options.onProgress });
    for (const file of files) hashed.set(file.path, file);
    modelId = await readModelIdOfWeights(client, deployment, computeWeightsHash(files));
    if (modelId === 0n) {
      const found = await findLocalManifest(manifestsDir, files, list.single, deployment);
      candidate = found?.signed;
      if (found !== undefined) modelId = await readModelIdOfWeights(client, deployment, found.signed.manifest.weightsHash);
    }
    if (modelId === 0n) {
      fail(
        "registry",
        new GotongError(
          candidate === undefined
            ? `The weights at ${path} are not registered on chain ${deployment.chainId}, and no manifest in ${manifestsDir} lists these files.`
            : `The manifest for ${path} names weights ${candidate.manifest.weightsHash}, which are not registered on chain ${deployment.chainId}.`,
          { code: "model_not_registered", status: 404, hint: "Publish the model with `gotong model publish`, or give the model id to compare these files with it." },
        ),
      );
    }
  }

  let entry: RegisteredModel | undefined;
  if (modelId !== 0n) {
    try {
      entry = await readRegisteredModel(client, deployment, modelId);
      pass("registry", `model #${modelId} "${entry.name}", weights ${entry.weightsHash}, registered by ${entry.creator ?? "(unknown)"}, owned by ${entry.owner}`);
    } catch (error) {
      fail("registry", error);
    }
  }

  let signed: SignedManifest | undefined;
  let manifestHash: Hex | undefined;
  if (entry !== undefined) {
    try {
      signed = await loadManifest(manifestsDir, entry.manifestHash);
      manifestHash = entry.manifestHash;
      pass("manifest", `${entry.manifestHash} found and intact (${signed.manifest.schema}, ${signed.manifest.files.length} file${signed.manifest.files.length === 1 ? "" : "s"})`);
    } catch (error) {
      fail("manifest", error);
    }
  } else {
    // Not registered: the local manifest still says which file changed, which is worth showing.
    signed = candidate;
  }
  if (signed === undefined) return finish();
  const { manifest } = signed;

  let signer: Address | undefined;
  try {
    signer = await verifyManifestSignature(signed);
    pass("signature", `EIP-712 signature by the creator ${signer}, over name "${manifest.name}" version ${manifest.version}`);
  } catch (error) {
    fail("signature", error);
  }

  if (manifest.chainId === deployment.chainId && manifest.modelRegistry.toLowerCase() === deployment.modelRegistry.toLowerCase()) {
    pass("deployment", `bound to chain ${manifest.chainId}, registry ${manifest.modelRegistry}`);
  } else {
    fail(
      "deployment",
      new GotongError(`The manifest is for chain ${manifest.chainId}, registry ${manifest.modelRegistry}, not this deployment (chain ${deployment.chainId}, registry ${deployment.modelRegistry}).`, {
        code: "manifest_wrong_deployment",
        status: 422,
        hint: "Check --deployment; a manifest is valid on the deployment it was signed for only.",
      }),
    );
  }

  if (entry !== undefined) {
    const problems: string[] = [];
    if (entry.weightsHash !== manifest.weightsHash) problems.push(`the registry's weights hash is ${entry.weightsHash}, the manifest's ${manifest.weightsHash}`);
    if (entry.name !== manifest.name) problems.push(`the registry's name is "${entry.name}", the manifest's "${manifest.name}"`);
    if (entry.creator !== undefined && entry.creator.toLowerCase() !== manifest.creator.toLowerCase()) {
      problems.push(`it was registered by ${entry.creator}, but the manifest is signed by ${manifest.creator} (someone registered another creator's manifest)`);
    }
    if (problems.length === 0) {
      pass("registry entry", `weights ${entry.weightsHash}${entry.creator === undefined ? "" : `, registrant`} and name agree with the manifest`);
    } else {
      fail("registry entry", new GotongError(`The registry entry of model #${entry.modelId} disagrees with its manifest: ${problems.join("; ")}.`, { code: "manifest_registry_mismatch", status: 422, hint: "Do not trust this model's manifest." }));
    }
  }

  if (list !== undefined) await checkFiles(list, manifest, hashed, { path: path!, fail, pass, signal, onProgress: options.onProgress });

  // The fingerprint registered with the model (ModelFingerprinted) is what other machines' re-upload
  // checks compare against: it must be the manifest's, and the files' own when they are at hand.
  if (entry !== undefined) {
    const registered = await readFingerprintHashOf(client, deployment, entry.modelId).catch((error: unknown) => error as Error);
    if (registered instanceof Error) {
      fail("fingerprint", new GotongError(`Could not read model #${entry.modelId}'s registered fingerprint: ${registered.message}`, { code: "chain_error", status: 502 }));
    } else if (registered !== undefined) {
      const problems: string[] = [];
      const signedHash = manifest.fingerprint !== undefined ? hashModelFingerprint(manifest.fingerprint) : undefined;
      if (signedHash !== registered) problems.push(signedHash === undefined ? "the manifest carries no fingerprint" : `the manifest's fingerprint hashes to ${signedHash}`);
      if (list !== undefined && manifest.format === "gguf") {
        const own = await readModelFingerprint(list.files.map((f) => f.absolute), { signal }).catch(() => undefined);
        const ownHash = own !== undefined ? hashModelFingerprint(own) : undefined;
        if (ownHash !== registered) problems.push(ownHash === undefined ? "the files have no fingerprint (no architecture in their headers)" : `the files' fingerprint hashes to ${ownHash}`);
      }
      if (problems.length === 0) {
        pass("fingerprint", `${registered}, registered with the model, is the manifest's${list !== undefined && manifest.format === "gguf" ? " and the files'" : ""}`);
      } else {
        fail("fingerprint", new GotongError(`Model #${entry.modelId} was registered with fingerprint ${registered}, but ${problems.join(" and ")}.`, { code: "manifest_registry_mismatch", status: 422, hint: "Re-upload checks on other machines compare against the registered fingerprint: do not trust this model's claim of what it is." }));
      }
    }
  }

  if (firstError !== undefined || entry === undefined || signer === undefined || manifestHash === undefined) return finish();
  return { modelId: entry.modelId, manifestHash, manifest, signer, checks };
}

/** Compares the files on disk with the manifest: one check per file, missing and unsigned ones included. */
async function checkFiles(
  list: ModelFileList,
  manifest: ModelManifest,
  hashed: Map<string, ManifestFile>,
  ctx: { path: string; pass: (name: string, detail: string) => void; fail: (name: string, error: unknown) => void; signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<void> {
  // A single file is matched by content whatever its name; a folder, path by path.
  const pairs: { expected: ManifestFile; actual: ModelFileEntry }[] = [];
  if (list.single) {
    if (manifest.files.length !== 1) {
      const missing = manifest.files.map((f) => f.path).join(", ");
      ctx.fail("files", new GotongError(`${ctx.path} is a single file, but the model is ${manifest.files.length} files: ${missing.slice(0, 500)}.`, { code: "model_file_missing", status: 422, hint: "Give the folder that holds every file of the model." }));
      return;
    }
    pairs.push({ expected: manifest.files[0]!, actual: list.files[0]! });
  } else {
    const onDisk = new Map(list.files.map((f) => [f.path, f]));
    for (const expected of manifest.files) {
      const actual = onDisk.get(expected.path);
      if (actual === undefined) {
        ctx.fail(`file ${expected.path}`, new GotongError(`${expected.path} is missing from ${ctx.path}: the signed manifest lists it.`, { code: "model_file_missing", status: 422, hint: "Download the missing file again." }));
      } else {
        pairs.push({ expected, actual });
        onDisk.delete(expected.path);
      }
    }
    for (const extra of onDisk.keys()) {
      ctx.fail(`file ${extra}`, new GotongError(`${extra} is in ${ctx.path} but not in the signed manifest.`, { code: "model_file_unsigned", status: 422, hint: "An extra file is not part of what the creator signed: remove it from the folder." }));
    }
  }
  const total = pairs.reduce((sum, p) => sum + (hashed.has(p.actual.path) ? 0 : p.actual.size), 0);
  let done = 0;
  for (const { expected, actual } of pairs) {
    let sha256 = hashed.get(actual.path)?.sha256;
    if (sha256 === undefined) {
      const before = done;
      sha256 = await hashFile(actual.absolute, { signal: ctx.signal, onProgress: (d) => ctx.onProgress?.(before + d, total) });
      done += actual.size;
    }
    const name = `file ${expected.path}`;
    if (sha256 === expected.sha256 && actual.size === expected.size) {
      ctx.pass(name, `sha256 ${sha256}, ${actual.size} bytes`);
    } else {
      ctx.fail(
        name,
        new GotongError(`${actual.path} has sha256 ${sha256} (${actual.size} bytes), but the signed manifest says ${expected.sha256} (${expected.size} bytes).`, {
          code: "model_file_hash_mismatch",
          status: 422,
          hint: "The file was changed, truncated or replaced: do not load it. Download it again from a source you trust.",
        }),
      );
    }
  }
}

/** The fingerprint hash registered with `modelId` (its `ModelFingerprinted` event), or undefined when it was registered without one. */
async function readFingerprintHashOf(client: PublicClient, deployment: Deployment, modelId: bigint): Promise<Hex | undefined> {
  const events = await client.getContractEvents({
    address: deployment.modelRegistry,
    abi: ModelRegistryArtifact.abi,
    eventName: "ModelFingerprinted",
    args: { modelId },
    fromBlock: BigInt(deployment.startBlock ?? 0),
    toBlock: "latest",
  });
  return events[0]?.args.fingerprint;
}
