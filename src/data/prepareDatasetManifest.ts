import { getAddress, type Address } from "viem";
import { checkManifestField } from "../model/checkManifestField.ts";
import { computeWeightsHash } from "../model/computeWeightsHash.ts";
import { hashModelFiles } from "../model/hashModelFiles.ts";
import { listModelFiles } from "../model/listModelFiles.ts";
import { basename } from "node:path";
import { DATASET_MANIFEST_SCHEMA, type DatasetManifest, type DatasetOwner } from "./datasetManifest.ts";
import { parseDatasetManifest } from "./parseDatasetManifest.ts";

/** Options of `prepareDatasetManifest`. */
export type PrepareDatasetManifestOptions = {
  /** The dataset's folder or file as it will be shared (the sealed folder when sealed). */
  path: string;
  /** Default: the folder's or file's name. */
  name?: string;
  /** Default `1.0.0`. */
  version?: string;
  /** SPDX expression; default `NOASSERTION`. */
  license?: string;
  /** Default: the creator alone, 10000 bps. Sorted here. */
  owners?: DatasetOwner[];
  sealed?: boolean;
  creator: Address;
  chainId: number;
  datasetRegistry: Address;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
};

/**
 * Hashes a dataset's files like a model folder's (symlinks out of it refused, sorted POSIX paths,
 * streaming sha256) and builds its manifest, checked in full. Needs no chain.
 *
 * @example const manifest = await prepareDatasetManifest({ path: "./corpus", creator, chainId, datasetRegistry });
 */
export async function prepareDatasetManifest(options: PrepareDatasetManifestOptions): Promise<DatasetManifest> {
  const version = options.version ?? "1.0.0";
  const license = options.license ?? "NOASSERTION";
  checkManifestField("version", version);
  checkManifestField("license", license);
  const list = await listModelFiles(options.path, { signal: options.signal });
  const name = options.name ?? basename(list.root.replace(/[\\/]+$/, ""));
  checkManifestField("name", name);
  const files = await hashModelFiles(list.files, { signal: options.signal, onProgress: options.onProgress });
  const creator = getAddress(options.creator);
  const owners = [...(options.owners ?? [{ address: creator, shareBps: 10_000 }])]
    .map((o) => ({ address: getAddress(o.address), shareBps: o.shareBps }))
    .sort((a, b) => (a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1));
  return parseDatasetManifest({
    schema: DATASET_MANIFEST_SCHEMA,
    name,
    version,
    files,
    contentHash: computeWeightsHash(files),
    license,
    owners,
    sealed: options.sealed ?? false,
    creator,
    chainId: options.chainId,
    datasetRegistry: getAddress(options.datasetRegistry),
  });
}
