import { getAddress, type Address, type Chain, type PublicClient, type Transport } from "viem";
import { AgentRegistryArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";

/**
 * The ERC-8004 agent id `owner` registered and still owns, read from the identity registry: its
 * `Registered` events filtered by owner (an indexed topic, so one log query from the deployment's
 * start block), oldest first, the first whose token `owner` still holds. Undefined when there is
 * none, or the deployment has no agent registry.
 *
 * Read from the chain rather than a file in the provider's home: the key is the identity, so the
 * same provider finds its agent from any machine, and a devnet started afresh (or another
 * deployment) finds none instead of a stale id.
 *
 * @example const agentId = await findProviderAgentId(client, deployment, provider.address);
 */
export async function findProviderAgentId(client: PublicClient<Transport, Chain>, deployment: Deployment, owner: Address): Promise<bigint | undefined> {
  const registry = deployment.agentRegistry;
  if (!registry) return undefined;
  const events = await client.getContractEvents({
    address: registry,
    abi: AgentRegistryArtifact.abi,
    eventName: "Registered",
    args: { owner },
    fromBlock: BigInt(deployment.startBlock ?? 0),
    toBlock: "latest",
  });
  for (const event of events) {
    const agentId = (event.args as { agentId: bigint }).agentId;
    // A token given away is no longer this provider's identity (and its wallet was cleared).
    const holder = (await client.readContract({ address: registry, abi: AgentRegistryArtifact.abi, functionName: "ownerOf", args: [agentId] }).catch(() => undefined)) as Address | undefined;
    if (holder && getAddress(holder) === getAddress(owner)) return agentId;
  }
  return undefined;
}
