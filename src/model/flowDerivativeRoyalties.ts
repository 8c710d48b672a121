import type { Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { ModelRegistryArtifact, PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError, writeAndWait } from "../chain/writeAndWait.ts";

/**
 * Moves to `modelId` every share its derivatives owe it: flows the pending royalties of each
 * descendant that has some, the deepest first, so a grandchild's share reaches the child before
 * the child's flows on (PaymentChannels.flowRoyalties, permissionless). Run before a withdrawal, so
 * an ancestor's owner is paid what the stack owes it without waiting for the derivatives' owners.
 * Returns the flow transactions sent (none when nothing was pending).
 *
 * @example await flowDerivativeRoyalties(clients, deployment, baseModelId);
 */
export async function flowDerivativeRoyalties(clients: ChainClients, deployment: Deployment, modelId: bigint): Promise<Hex[]> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const range = { fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" } as const;
  // Every descendant; ids only point at older models, so this ends.
  const order: bigint[] = [];
  const seen = new Set<bigint>([modelId]);
  let frontier = [modelId];
  try {
    while (frontier.length > 0) {
      const next: bigint[] = [];
      for (const id of frontier) {
        const children = await clients.public.getContractEvents({ ...registry, eventName: "ModelDerived", args: { parentId: id }, ...range });
        for (const child of children) {
          const childId = child.args.modelId!;
          if (seen.has(childId)) continue;
          seen.add(childId);
          next.push(childId);
        }
      }
      order.push(...next);
      frontier = next;
    }
  } catch (error) {
    throw toChainError(error, "finding derivatives");
  }
  // Deepest first: a derivative is always deeper than each of its parents (depthOf), so every share
  // reaches a model before that model's own royalties flow on, even where merges join branches.
  const depths = new Map<bigint, number>();
  for (const id of order) depths.set(id, await clients.public.readContract({ ...registry, functionName: "depthOf", args: [id] }));
  order.sort((a, b) => depths.get(b)! - depths.get(a)!);
  const sent: Hex[] = [];
  for (const id of order) {
    const pending = await clients.public.readContract({ ...channels, functionName: "pendingRoyalties", args: [id] });
    if (pending === 0n) continue;
    sent.push((await writeAndWait(clients, { ...channels, functionName: "flowRoyalties", args: [id] })).hash);
  }
  return sent;
}
