import { readFile } from "node:fs/promises";
import { getAddress, parseEventLogs, type Address, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { DataPoolFactoryArtifact, DatasetRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError, writeAndWait } from "../chain/writeAndWait.ts";
import { canonicalJson } from "../model/canonicalJson.ts";
import { sha256Hex } from "../model/sha256Hex.ts";
import { checkDatasetFiles } from "./checkDatasetFiles.ts";
import { datasetError } from "./errors.ts";
import type { DatasetManifest, DatasetOwner, SignedDatasetManifest } from "./datasetManifest.ts";
import { dataPoolFactoryOf, datasetRegistryOf } from "./datasetRegistryOf.ts";
import { parseSignedDatasetManifest } from "./loadDatasetManifest.ts";
import { prepareDatasetManifest } from "./prepareDatasetManifest.ts";
import { signDatasetManifest, type DatasetManifestSigner } from "./signDatasetManifest.ts";
import { storeDatasetManifest } from "./storeDatasetManifest.ts";
import { verifyDatasetManifestSignature } from "./verifyDatasetManifestSignature.ts";

/** Options of `publishDataset`. */
export type PublishDatasetOptions = {
  /** The dataset's folder or file as shared (the sealed folder for a sealed dataset). */
  path: string;
  name?: string;
  version?: string;
  license?: string;
  /** Default: the publisher alone. Several owners make the dataset a data pool's (see `createDataPool`). */
  owners?: DatasetOwner[];
  sealed?: boolean;
  /**
   * A manifest signed elsewhere (`{ manifest, signature }` JSON) to publish instead of building one:
   * it must be signed by the publishing account and its files must hash to it, or it is refused.
   */
  signedManifestFile?: string;
  /** Where dataset manifests are kept, content-addressed (`GOTONG_HOME/datasets`). */
  datasetsDir: string;
  signer?: DatasetManifestSigner;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
};

/** What `publishDataset` did. */
export type PublishDatasetResult = {
  datasetId: bigint;
  manifest: DatasetManifest;
  signature: Hex;
  manifestHash: Hex;
  manifestURI: string;
  manifestPath: string;
  transactionHash: Hex;
  /** Who owns the dataset token: the publisher, or the data pool for a dataset of several owners. */
  owner: Address;
  /** The DataPool whose ERC-20 balances are the owners' shares, when there are several owners. */
  pool: Address | undefined;
};

/**
 * Publishes a dataset: hashes its files like a model folder, builds and signs its manifest (or
 * takes a signed one, refusing it unless the publisher signed it and the files hash to it), stores
 * it content-addressed, and registers it on the DatasetRegistry, minting the dataset's token to
 * the publisher. A dataset of several owners is registered by a new DataPool instead (through the
 * deployment's DataPoolFactory), which owns the token and mints each owner its share as an ERC-20
 * balance, so what the dataset earns is split by contribution. Nothing is sent until every check
 * has passed; a refused simulation leaves no manifest behind.
 *
 * @example const { datasetId } = await publishDataset(clients, deployment, { path: "./corpus", license: "CC-BY-4.0", datasetsDir });
 */
export async function publishDataset(clients: ChainClients, deployment: Deployment, options: PublishDatasetOptions): Promise<PublishDatasetResult> {
  const registry = { address: datasetRegistryOf(deployment), abi: DatasetRegistryArtifact.abi } as const;
  const publisher = getAddress(clients.account.address);
  let signed: SignedDatasetManifest;
  if (options.signedManifestFile !== undefined) {
    signed = parseSignedDatasetManifest(await readFile(options.signedManifestFile, "utf8"), undefined, options.signedManifestFile);
    await verifyDatasetManifestSignature(signed, { signer: publisher, chainId: deployment.chainId, datasetRegistry: registry.address });
    await checkDatasetFiles(options.path, signed.manifest, { signal: options.signal, onProgress: options.onProgress });
  } else {
    const manifest = await prepareDatasetManifest({
      path: options.path,
      name: options.name,
      version: options.version,
      license: options.license,
      owners: options.owners,
      sealed: options.sealed,
      creator: publisher,
      chainId: deployment.chainId,
      datasetRegistry: registry.address,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    const signer = options.signer ?? { signTypedData: (typedData) => clients.wallet.signTypedData({ account: clients.account, ...typedData }) };
    signed = await signDatasetManifest(signer, manifest);
    // A signer that is not the sender would register a manifest nobody can verify.
    await verifyDatasetManifestSignature(signed, { signer: publisher, chainId: deployment.chainId, datasetRegistry: registry.address });
  }
  options.signal?.throwIfAborted();
  const manifestHash: Hex = `0x${sha256Hex(canonicalJson({ manifest: signed.manifest, signature: signed.signature }))}`;
  const manifestURI = `gotong:dataset:${manifestHash}`;
  const { owners, contentHash, name } = signed.manifest;
  if (owners.length === 1 && owners[0]!.address.toLowerCase() !== publisher.toLowerCase()) {
    throw datasetError("dataset_manifest_invalid", `The manifest names ${owners[0]!.address} as the dataset's only owner, but ${publisher} is publishing it and would own its token.`, {
      hint: "Publish it from the owner's key, or name several owners to have a data pool own it.",
    });
  }
  const call =
    owners.length === 1
      ? ({ ...registry, functionName: "registerDataset", args: [contentHash, name, manifestURI, manifestHash] } as const)
      : ({
          address: dataPoolFactoryOf(deployment),
          abi: DataPoolFactoryArtifact.abi,
          functionName: "createPool",
          // The pool's shares are the manifest's basis points, so balances and the signed shares agree.
          args: [`${name} pool`, "GPOOL", { contentHash, name, manifestURI, manifestHash }, owners.map((o) => o.address), owners.map((o) => BigInt(o.shareBps))],
        } as const);
  try {
    await clients.public.simulateContract({ ...call, account: clients.account } as Parameters<typeof clients.public.simulateContract>[0]);
  } catch (error) {
    throw toChainError(error, call.functionName, clients.account.address, call.abi);
  }
  const stored = await storeDatasetManifest(options.datasetsDir, signed);
  const sent = await writeAndWait(clients, call as Parameters<typeof writeAndWait>[1]);
  let datasetId: bigint;
  let pool: Address | undefined;
  if (owners.length === 1) {
    datasetId = sent.result as bigint;
  } else {
    const [created] = parseEventLogs({ abi: DataPoolFactoryArtifact.abi, eventName: "DataPoolCreated", logs: sent.receipt.logs });
    if (created === undefined) throw datasetError("dataset_not_found", `createPool ${sent.hash} was mined without a DataPoolCreated event.`, { status: 502 });
    datasetId = created.args.datasetId;
    pool = created.args.pool;
  }
  return { datasetId, manifest: signed.manifest, signature: signed.signature, manifestHash: stored.manifestHash, manifestURI: stored.manifestURI, manifestPath: stored.path, transactionHash: sent.hash, owner: pool ?? publisher, pool };
}
