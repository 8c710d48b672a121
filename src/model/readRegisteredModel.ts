import type { Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { GotongError, isGotongError } from "../common/errors.ts";

/** A model as the registry records it. */
export type RegisteredModel = {
  modelId: bigint;
  name: string;
  weightsHash: Hex;
  manifestHash: Hex;
  metadataURI: string;
  /** The royalty now: its owner may have changed it since the manifest was signed. */
  royaltyBps: number;
  /** Who registered it (from the `ModelRegistered` event); undefined if the RPC would not say. */
  creator: Address | undefined;
  /** Who owns its token now, and so receives its royalties. */
  owner: Address;
};

/**
 * Reads a registered model: its registry entry, who registered it and who owns it now. Throws
 * `model_not_found` for an id that was never issued.
 *
 * @example const { manifestHash, creator } = await readRegisteredModel(client, deployment, 1n);
 */
export async function readRegisteredModel(client: PublicClient, deployment: Deployment, modelId: bigint): Promise<RegisteredModel> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  let entry: { weightsHash: Hex; manifestHash: Hex; royaltyBps: number; name: string; metadataURI: string };
  let owner: Address;
  try {
    [entry, owner] = await Promise.all([
      client.readContract({ ...registry, functionName: "getModel", args: [modelId] }),
      client.readContract({ ...registry, functionName: "ownerOf", args: [modelId] }),
    ]);
  } catch (error) {
    const chainError = toChainError(error, "getModel");
    if (isGotongError(chainError, "contract_revert") && /ModelNotFound|ERC721NonexistentToken/.test(chainError.message)) {
      throw new GotongError(`No model #${modelId} in the registry at ${deployment.modelRegistry} (chain ${deployment.chainId}).`, {
        code: "model_not_found",
        status: 404,
        hint: "Check the id, and that --deployment points at the network the model was published on.",
        cause: error,
      });
    }
    throw chainError;
  }
  let creator: Address | undefined;
  try {
    const events = await client.getContractEvents({
      ...registry,
      eventName: "ModelRegistered",
      args: { modelId },
      fromBlock: BigInt(deployment.startBlock ?? 0),
      toBlock: "latest",
    });
    creator = events[0]?.args.creator;
  } catch {
    // Some public RPCs refuse wide log queries; the entry and owner still stand on their own.
    creator = undefined;
  }
  return { modelId, name: entry.name, weightsHash: entry.weightsHash, manifestHash: entry.manifestHash, metadataURI: entry.metadataURI, royaltyBps: entry.royaltyBps, creator, owner };
}
