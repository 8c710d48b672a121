import { basename } from "node:path";
import { getAddress, toFunctionSelector, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import { ContractRevertError } from "../chain/errors.ts";
import { toChainError, writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { canonicalJson } from "./canonicalJson.ts";
import { checkManifestField } from "./checkManifestField.ts";
import { computeWeightsHash } from "./computeWeightsHash.ts";
import { describeModelFiles } from "./describeModelFiles.ts";
import { modelError } from "./errors.ts";
import { hashModelFiles } from "./hashModelFiles.ts";
import { listModelFiles } from "./listModelFiles.ts";
import { loadManifest } from "./loadManifest.ts";
import { findFingerprintMatch } from "./findFingerprintMatch.ts";
import { hashModelFingerprint } from "./hashModelFingerprint.ts";
import { MANIFEST_SCHEMA, type ManifestDataset, type ManifestParent, type ModelManifest } from "./modelManifest.ts";
import { RELATION_CODES } from "./modelRelation.ts";
import { readModelFingerprint } from "./readModelFingerprint.ts";
import { readRegisteredFingerprints } from "./readRegisteredFingerprints.ts";
import { readModelIdOfWeights } from "./readModelIdOfWeights.ts";
import { readRegisteredModel } from "./readRegisteredModel.ts";
import { sha256Hex } from "./sha256Hex.ts";
import { signManifest, type ManifestSigner } from "./signManifest.ts";
import { storeManifest } from "./storeManifest.ts";
import { verifyManifestSignature } from "./verifyManifestSignature.ts";

/** Options of `publishModel`. */
export type PublishModelOptions = {
  /** A GGUF or safetensors file, or a folder of shards (with their JSON companions for safetensors). */
  path: string;
  /** Name clients ask for (`model` in the OpenAI API). Default: the file name without extension, or the folder's name. */
  name?: string;
  /** Default `1.0.0`. */
  version?: string;
  /** SPDX licence expression. Default `NOASSERTION` (SPDX for "the creator did not say"). */
  license?: string;
  /** Creator's royalty on every paid request, basis points (1000 = 10%); the registry allows at most 5000. */
  royaltyBps: number;
  /** Used only when the headers do not name the architecture (safetensors without metadata or config.json). */
  architecture?: string;
  /** Folder where manifests are kept, content-addressed (`GOTONG_HOME/manifests`). */
  manifestsDir: string;
  /** Signs the manifest. Default: the account of `clients` (who also sends the transaction and must be the signer). */
  signer?: ManifestSigner;
  /**
   * The models these weights were made from, with the share of this model's royalty each is paid
   * (`gotong model publish --parent ID:BPS --relation R`). Recorded on-chain for good by
   * `ModelRegistry.registerDerivative`; the registry refuses a parent that does not exist, a share
   * below the parent's terms, a stack above 90 % and a lineage deeper than 5.
   */
  parents?: ManifestParent[];
  /** The datasets the model was trained on, with their owners' share of this model's royalty. */
  datasets?: ManifestDataset[];
  /** Bytes hashed so far, out of the model's total size. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
};

/** What `publishModel` did. */
export type PublishModelResult = {
  modelId: bigint;
  /** False when these weights were already registered by this creator and nothing was sent. */
  created: boolean;
  name: string;
  weightsHash: Hex;
  manifestHash: Hex;
  metadataURI: string;
  /** The signed manifest; undefined only for an existing entry whose manifest is not kept locally. */
  manifest: ModelManifest | undefined;
  signature: Hex | undefined;
  manifestPath: string | undefined;
  transactionHash: Hex | undefined;
  /**
   * The fingerprint hash registered with the model (`ModelRegistry`'s `ModelFingerprinted`), by
   * which a re-upload or quantisation of it is caught from any machine; undefined for a model
   * without a fingerprint (safetensors) and for an existing entry.
   */
  fingerprintHash: Hex | undefined;
};

/**
 * Publishes a model: lists its files (refusing symlinks out of the folder and unknown files),
 * checks every file's format and header (refusing pickle in any disguise), hashes them with
 * progress, builds the manifest (architecture and sizes from the headers; chain and registry so it
 * cannot be replayed elsewhere), signs it with EIP-712, stores it content-addressed, and registers
 * it, minting the model's token to the creator, with its fingerprint's hash for a GGUF (so that a
 * re-upload or quantisation of it is caught from any machine, not only from one that keeps this
 * manifest). Nothing is sent until every check has passed.
 * Returns the existing entry when this creator already registered these weights; another
 * creator's registration is refused with the registry's `ModelAlreadyRegistered`.
 *
 * @example const { modelId } = await publishModel(clients, deployment, { path: "model.gguf", royaltyBps: 1000, manifestsDir });
 */
export async function publishModel(clients: ChainClients, deployment: Deployment, options: PublishModelOptions): Promise<PublishModelResult> {
  const { signal } = options;
  const version = options.version ?? "1.0.0";
  const license = options.license ?? "NOASSERTION";
  // Check what the creator typed before spending minutes hashing.
  if (options.name !== undefined) checkManifestField("name", options.name);
  checkManifestField("version", version);
  checkManifestField("license", license);
  checkManifestField("royaltyBps", options.royaltyBps);
  if (options.architecture !== undefined) checkManifestField("architecture", options.architecture);
  const parents = sortById(options.parents ?? [], (p) => p.modelId);
  const datasets = sortById(options.datasets ?? [], (d) => d.datasetId);
  if (parents.length > 0) checkManifestField("parents", parents);
  if (datasets.length > 0) checkManifestField("datasets", datasets);

  const list = await listModelFiles(options.path, { signal });
  const description = await describeModelFiles(list, { signal });
  const architecture = description.architecture ?? options.architecture;
  if (architecture === undefined) {
    throw new GotongError(`The headers of ${options.path} do not say which architecture the model is.`, {
      code: "model_architecture_unknown",
      hint: "Add a config.json with model_type, or an \"architecture\" entry in the safetensors __metadata__, or pass --architecture.",
    });
  }
  checkManifestField("architecture", architecture);
  const name = options.name ?? defaultName(list.single ? options.path : list.root, list.single);
  checkManifestField("name", name);

  const absoluteOf = new Map(list.files.map((f) => [f.path, f.absolute]));
  const fingerprint = description.format === "gguf" ? await readModelFingerprint(description.weightFiles.map((p) => absoluteOf.get(p)!), { signal }) : undefined;

  const files = await hashModelFiles(list.files, { signal, onProgress: options.onProgress });
  const weightsHash = computeWeightsHash(files);
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const creator = getAddress(clients.account.address);

  const existing = await readModelIdOfWeights(clients.public, deployment, weightsHash);
  if (existing !== 0n) {
    const entry = await readRegisteredModel(clients.public, deployment, existing);
    if ((entry.creator ?? entry.owner).toLowerCase() === creator.toLowerCase()) {
      const kept = await loadManifest(options.manifestsDir, entry.manifestHash).catch(() => undefined);
      return {
        modelId: existing,
        created: false,
        name: entry.name,
        weightsHash,
        manifestHash: entry.manifestHash,
        metadataURI: entry.metadataURI,
        manifest: kept?.manifest,
        signature: kept?.signature,
        manifestPath: undefined,
        transactionHash: undefined,
        fingerprintHash: undefined,
      };
    }
  }

  // Other bytes, same model: a re-upload or quantisation of a registered model must name it, so
  // that its royalty reaches the original's owner. There is no option to skip this check.
  if (existing === 0n && parents.length === 0 && fingerprint !== undefined) {
    const match = findFingerprintMatch(fingerprint, await readRegisteredFingerprints(clients.public, deployment, options.manifestsDir));
    if (match !== undefined) {
      throw modelError("model_parent_undeclared", `${options.path} looks like a re-upload, quantisation or fine-tune of model #${match.modelId} "${match.name}" (${match.reason}), but names no parent.`, {
        status: 409,
        hint: `Declare it: add --parent ${match.modelId} --relation quantisation (or fine-tune, merge, distillation, adapter; --parent ${match.modelId}:BPS to pay it more than its owner's minimum share). A model published without naming an ancestor it plainly is can be disputed.`,
      });
    }
  }

  const manifest: ModelManifest = {
    schema: MANIFEST_SCHEMA,
    name,
    version,
    format: description.format,
    files,
    weightsHash,
    architecture,
    ...(description.parameterCount !== undefined ? { parameterCount: description.parameterCount } : {}),
    ...(description.contextLength !== undefined ? { contextLength: description.contextLength } : {}),
    license,
    royaltyBps: options.royaltyBps,
    creator,
    chainId: deployment.chainId,
    modelRegistry: getAddress(deployment.modelRegistry),
    ...(parents.length > 0 ? { parents } : {}),
    ...(datasets.length > 0 ? { datasets } : {}),
    ...(fingerprint !== undefined ? { fingerprint } : {}),
  };
  const signer = options.signer ?? { signTypedData: (typedData) => clients.wallet.signTypedData({ account: clients.account, ...typedData }) };
  const signed = await signManifest(signer, manifest);
  // A signer that is not the sender (a misconfigured hardware wallet, a wrong key file) would
  // register a manifest nobody can verify: refuse before anything is sent.
  await verifyManifestSignature(signed, { creator, chainId: deployment.chainId, modelRegistry: deployment.modelRegistry });
  signal?.throwIfAborted();

  // The content address storeManifest will use; simulating with it first means a refusal (weights
  // taken by another creator, royalty too high) leaves no manifest behind.
  const manifestHash: Hex = `0x${sha256Hex(canonicalJson(signed))}`;
  const args = [name, weightsHash, manifestHash, `gotong:manifest:${manifestHash}`, options.royaltyBps] as const;
  // The fingerprint goes on-chain in the registering call itself (the registry's overloads that
  // take one): atomic, one event's gas, and bound to the id being issued, so that no older token
  // can claim it later and lowest-id-wins stays the order of registration.
  let fingerprintHash = fingerprint !== undefined ? hashModelFingerprint(fingerprint) : undefined;
  // A registry deployed by an older Gotong (a devnet resumed from its saved state) has no such
  // overloads: the model is registered without the hash there, as before, rather than not at all.
  if (fingerprintHash !== undefined && !(await registryTakesFingerprints(clients, deployment.modelRegistry))) fingerprintHash = undefined;
  const declared = fingerprintHash !== undefined ? ([fingerprintHash] as const) : ([] as const);
  // A model with a lineage is registered with it in one call: lineage is fixed at registration,
  // so it can never change under royalties already earned.
  const call =
    parents.length === 0 && datasets.length === 0
      ? ({ ...registry, functionName: "register", args: [...args, ...declared] } as const)
      : ({
          ...registry,
          functionName: "registerDerivative",
          args: [
            ...args,
            parents.map((p) => ({ modelId: BigInt(p.modelId), relation: RELATION_CODES[p.relation], shareBps: p.shareBps })),
            datasets.map((d) => ({ datasetId: BigInt(d.datasetId), shareBps: d.shareBps })),
            ...declared,
          ],
        } as const);
  try {
    await clients.public.simulateContract({ ...call, account: clients.account } as Parameters<typeof clients.public.simulateContract>[0]);
  } catch (error) {
    throw alreadyRegistered(toChainError(error, call.functionName, clients.account.address, ModelRegistryArtifact.abi), existing);
  }
  const stored = await storeManifest(options.manifestsDir, signed);
  let sent: Awaited<ReturnType<typeof writeAndWait>>;
  try {
    sent = await writeAndWait(clients, call as Parameters<typeof writeAndWait>[1]);
  } catch (error) {
    throw alreadyRegistered(error, existing);
  }
  return {
    modelId: sent.result as bigint,
    created: true,
    name,
    weightsHash,
    manifestHash: stored.manifestHash,
    metadataURI: stored.metadataURI,
    manifest,
    signature: signed.signature,
    manifestPath: stored.path,
    transactionHash: sent.hash,
    fingerprintHash,
  };
}

// What to do about each lineage refusal of `registerDerivative`; the refusal itself names the values.
const LINEAGE_HINTS: Record<string, string> = {
  ParentNotFound: "A parent must be registered before its derivatives (so a lineage can never loop back on itself): check the id.",
  DuplicateParent: "Name each parent once, with its whole share.",
  InvalidRelation: "Use --relation fine-tune, merge, quantisation, distillation or adapter.",
  LineageTooDeep: "A model may have at most 5 generations of ancestors: name a nearer ancestor as the parent.",
  StackTooLarge: "Parents and datasets together may take at most 9000 bps (90%) of the model's royalty: lower the shares.",
  ShareBelowParentTerms: "The parent's owner asks its derivatives for at least that share: raise --parent ID:BPS, or leave the share out to pay the minimum.",
  DatasetNotFound: "Register the dataset first (`gotong data publish`), or check its id with `gotong data list`.",
  DuplicateDataset: "Name each dataset once, with its whole share.",
  TooManyParents: "Name at most 16 parents.",
  TooManyDatasets: "Name at most 64 datasets.",
};

/** The registry's `ModelAlreadyRegistered` and lineage refusals, said plainly; other errors pass through. */
function alreadyRegistered(error: unknown, existing: bigint): unknown {
  if (error instanceof ContractRevertError && error.errorName !== undefined && Object.hasOwn(LINEAGE_HINTS, error.errorName)) {
    return modelError("model_lineage_refused", `The registry refused the model's lineage: ${error.refusal}.`, { status: 422, hint: LINEAGE_HINTS[error.errorName], cause: error });
  }
  if (!(error instanceof ContractRevertError) || error.errorName !== "ModelAlreadyRegistered") return error;
  const id = String(error.args[1] ?? existing); // ModelAlreadyRegistered(weightsHash, modelId)
  return modelError("model_already_registered", `These weights are already registered by another creator as model #${id}: the registry refused them with ${error.refusal}.`, {
    status: 409,
    hint: `Weights can be registered once. If model #${id} is yours, publish from the key that registered it; to build on it, publish your changed weights as a new model.`,
    cause: error,
  });
}

/** A copy sorted by numeric id: the manifest's one canonical order. */
function sortById<T>(items: readonly T[], id: (item: T) => string): T[] {
  const key = (item: T) => (/^\d+$/.test(id(item)) ? BigInt(id(item)) : -1n);
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The file name without its extension, or the folder's name. */
function defaultName(path: string, single: boolean): string {
  const base = basename(path.replace(/[\\/]+$/, ""));
  return single ? base.replace(/\.(gguf|safetensors)$/i, "") : base;
}

/** Whether the registry's code has the fingerprinting `register` overload (a dispatcher holds each selector it serves). */
async function registryTakesFingerprints(clients: ChainClients, registry: Hex): Promise<boolean> {
  const code = await clients.public.getCode({ address: registry }).catch(() => undefined);
  // Unreadable: assume the current registry; simulation then says what is wrong.
  if (!code) return true;
  return code.toLowerCase().includes(toFunctionSelector("register(string,bytes32,bytes32,string,uint16,bytes32)").slice(2));
}
