import type { Address, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { isGotongError } from "../common/errors.ts";
import { datasetRegistryOf } from "./datasetRegistryOf.ts";
import { datasetError } from "./errors.ts";

// ERC-721's ownerOf: all this needs of the DatasetRegistry, whatever else its ABI holds.
const OWNER_OF = [{ type: "function", name: "ownerOf", stateMutability: "view", inputs: [{ name: "tokenId", type: "uint256" }], outputs: [{ name: "", type: "address" }] }] as const;

/**
 * Who owns dataset `datasetId`'s token now: the only account that may grant its key, and the one
 * its earnings are paid to. Throws `dataset_not_found` for an id that was never issued.
 *
 * @example const owner = await readDatasetOwner(client, deployment, 3n);
 */
export async function readDatasetOwner(client: PublicClient, deployment: Deployment, datasetId: bigint): Promise<Address> {
  const address = datasetRegistryOf(deployment);
  try {
    return await client.readContract({ address, abi: OWNER_OF, functionName: "ownerOf", args: [datasetId] });
  } catch (error) {
    const chainError = toChainError(error, "ownerOf");
    if (isGotongError(chainError, "contract_revert") || /ERC721NonexistentToken|DatasetNotFound|reverted/.test(String((error as Error)?.message))) {
      throw datasetError("dataset_not_found", `No dataset #${datasetId} in the DatasetRegistry at ${address} (chain ${deployment.chainId}).`, {
        status: 404,
        hint: "Check the id (`gotong data list` shows them), and that --deployment points at the network it was published on.",
        cause: error,
      });
    }
    throw chainError;
  }
}
