import { getAddress, type AbiEvent, type Hex, type PublicClient } from "viem";
import { ModelRegistryArtifact, ProviderRegistryArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import type { RegistryEvent } from "./registryState.ts";
import type { BlockRange } from "./scanBlockRanges.ts";

/** Where discovery reads the registries from: the chain's head, block hashes and decoded events. */
export type RegistryLogSource = {
  /** The latest block number. */
  blockNumber(): Promise<bigint>;
  /** The hash of block `number`, or undefined when the chain has no such block (it was reset). */
  blockHash(number: bigint): Promise<Hex | undefined>;
  /** The registry events in `range`, in chain order. */
  logs(range: BlockRange): Promise<RegistryEvent[]>;
  /** The stake a provider needs to be active (`ProviderRegistry.minStake`, immutable). */
  minStake(): Promise<bigint>;
};

const PROVIDER_EVENTS = ["ProviderRegistered", "StakeAdded", "UnstakeRequested", "EndpointChanged", "HpkeKeyChanged", "OfferSet", "OfferRemoved", "ProviderPaused"];
const MODEL_EVENTS = ["ModelRegistered", "RoyaltyChanged"];

const eventsOf = (abi: readonly { type: string; name?: string }[], names: string[]) =>
  abi.filter((item): item is AbiEvent => item.type === "event" && names.includes(item.name!));

/**
 * The registries' events on a chain, read with `eth_getLogs` over both contracts at once (one
 * query per range, filtered to the events that change offers).
 *
 * @example
 * const source = createRegistryLogSource(client, deployment);
 * await source.logs({ fromBlock: 0n, toBlock: 1_999n });
 */
export function createRegistryLogSource(client: PublicClient, deployment: Deployment): RegistryLogSource {
  const events = [...eventsOf(ProviderRegistryArtifact.abi, PROVIDER_EVENTS), ...eventsOf(ModelRegistryArtifact.abi, MODEL_EVENTS)];
  const providerRegistry = deployment.providerRegistry.toLowerCase();
  const modelRegistry = deployment.modelRegistry.toLowerCase();
  return {
    blockNumber: () => client.getBlockNumber({ cacheTime: 0 }),
    async blockHash(number) {
      try {
        return (await client.getBlock({ blockNumber: number })).hash ?? undefined;
      } catch (error) {
        // A block past the head: the chain was reset under the cursor (a devnet started afresh).
        if ((error as Error).name === "BlockNotFoundError") return undefined;
        throw error;
      }
    },
    async logs(range) {
      const logs = await client.getLogs({ address: [deployment.providerRegistry, deployment.modelRegistry], events, fromBlock: range.fromBlock, toBlock: range.toBlock, strict: true });
      const out: RegistryEvent[] = [];
      for (const log of logs) {
        const from = log.address.toLowerCase();
        const name = log.eventName as string;
        // Each contract's own events only: a name the other contract also used would be ignored.
        if ((PROVIDER_EVENTS.includes(name) && from !== providerRegistry) || (MODEL_EVENTS.includes(name) && from !== modelRegistry)) continue;
        const event = toEvent(name, log.args as Record<string, unknown>, { blockNumber: log.blockNumber!, logIndex: log.logIndex! });
        if (event) out.push(event);
      }
      return out.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
    },
    minStake: () => client.readContract({ address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "minStake" }) as Promise<bigint>,
  };
}

/** A decoded log as discovery's event type. */
function toEvent(name: string, a: Record<string, unknown>, at: { blockNumber: bigint; logIndex: number }): RegistryEvent | undefined {
  const provider = typeof a.provider === "string" ? getAddress(a.provider) : undefined;
  switch (name) {
    case "ProviderRegistered":
      return { ...at, name, provider: provider!, endpoint: a.endpoint as string, hpkePublicKey: a.hpkePublicKey as Hex, stake: a.stake as bigint };
    case "StakeAdded":
      return { ...at, name, provider: provider!, stake: a.stake as bigint };
    case "UnstakeRequested":
      return { ...at, name, provider: provider!, amount: a.amount as bigint };
    case "EndpointChanged":
      return { ...at, name, provider: provider!, endpoint: a.endpoint as string };
    case "HpkeKeyChanged":
      return { ...at, name, provider: provider!, hpkePublicKey: a.hpkePublicKey as Hex };
    case "OfferSet":
      return { ...at, name, provider: provider!, modelId: a.modelId as bigint, pricePerMillionInput: a.pricePerMillionInput as bigint, pricePerMillionOutput: a.pricePerMillionOutput as bigint, capabilities: a.capabilities as bigint };
    case "OfferRemoved":
      return { ...at, name, provider: provider!, modelId: a.modelId as bigint };
    case "ProviderPaused":
      return { ...at, name, provider: provider!, paused: a.paused as boolean };
    case "ModelRegistered":
      return { ...at, name, modelId: a.modelId as bigint, name_: a.name as string, weightsHash: a.weightsHash as Hex, royaltyBps: Number(a.royaltyBps) };
    case "RoyaltyChanged":
      return { ...at, name, modelId: a.modelId as bigint, royaltyBps: Number(a.royaltyBps) };
  }
  return undefined;
}
