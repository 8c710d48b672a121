import type { Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import type { ManifestDataset, ManifestParent } from "./modelManifest.ts";
import { publishModel } from "./publishModel.ts";

export type RegisterModelOptions = {
  path: string;
  /** Name clients ask for (`model` in the OpenAI API). Default: the file name without `.gguf`. */
  name?: string;
  /** Creator's royalty on every paid request, basis points (1000 = 10%). */
  royaltyBps: number;
  /** SPDX licence id. */
  license?: string;
  /** Folder where the manifest is kept, content-addressed. */
  manifestsDir: string;
  /** The models it was made from (see `PublishModelOptions.parents`). */
  parents?: ManifestParent[];
  /** The datasets it was trained on. */
  datasets?: ManifestDataset[];
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
};

/**
 * Registers a model on-chain with a signed manifest: the short form of `publishModel` kept for the
 * callers that only need the id (`gotong up`, test networks). Returns the existing entry when this
 * creator already registered these exact weights.
 *
 * @example const { modelId } = await registerModel(clients, deployment, { path, royaltyBps: 1000, manifestsDir });
 */
export async function registerModel(
  clients: ChainClients,
  deployment: Deployment,
  options: RegisterModelOptions,
): Promise<{ modelId: bigint; weightsHash: Hex; name: string; created: boolean }> {
  const { modelId, weightsHash, name, created } = await publishModel(clients, deployment, options);
  return { modelId, weightsHash, name, created };
}
