import type { Address, PublicClient } from "viem";
import { ModelRegistryArtifact, PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { relationOfCode, type ModelRelation } from "./modelRelation.ts";
import { readRegisteredModel } from "./readRegisteredModel.ts";

/** A model registered naming another as its parent, and what it paid that parent. Amounts in token base units. */
export type ModelDerivative = {
  modelId: bigint;
  name: string;
  owner: Address;
  relation: ModelRelation | `unknown(${number})`;
  /** The parent's share of the derivative's royalty, fixed when the derivative was registered. */
  shareBps: number;
  /** What flowed from the derivative to the parent so far (`ParentShareFlowed`). */
  paidToParent: bigint;
  /** The parent's share of the derivative's royalties that have not flowed yet (`pendingRoyalties`). */
  pendingToParent: bigint;
};

/**
 * Reads the derivatives of a model (its children: every model whose registration named it, from
 * the registry's `ModelDerived` events), each with its relation, the share it pays the model and
 * what it has paid it and still owes it. Oldest first. The other direction of `readModelLineage`.
 *
 * @example const children = await readModelDerivatives(client, deployment, 1n);
 */
export async function readModelDerivatives(client: PublicClient, deployment: Deployment, modelId: bigint): Promise<ModelDerivative[]> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const range = { fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" } as const;
  try {
    const [derived, flows] = await Promise.all([
      client.getContractEvents({ ...registry, eventName: "ModelDerived", args: { parentId: modelId }, ...range }),
      client.getContractEvents({ ...channels, eventName: "ParentShareFlowed", args: { parentId: modelId }, ...range }),
    ]);
    return await Promise.all(
      derived.map(async (event): Promise<ModelDerivative> => {
        const childId = event.args.modelId!;
        const shareBps = event.args.shareBps!;
        const [child, pending] = await Promise.all([
          readRegisteredModel(client, deployment, childId),
          client.readContract({ ...channels, functionName: "pendingRoyalties", args: [childId] }),
        ]);
        return {
          modelId: childId,
          name: child.name,
          owner: child.owner,
          relation: relationOfCode(event.args.relation!) ?? (`unknown(${event.args.relation!})` as const),
          shareBps,
          paidToParent: flows.filter((log) => log.args.modelId === childId).reduce((sum, log) => sum + log.args.amount!, 0n),
          // Rounded down, as PaymentChannels rounds each share when it flows.
          pendingToParent: (pending * BigInt(shareBps)) / 10_000n,
        };
      }),
    );
  } catch (error) {
    throw toChainError(error, `reading the derivatives of model #${modelId}`);
  }
}
