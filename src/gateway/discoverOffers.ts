import type { Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { GotongError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { Price } from "../payments/price.ts";
import type { Capability } from "../protocol/capabilities.ts";
import { createMemoryDiscoveryStore, type DiscoveryCursor, type DiscoveryStore } from "./discovery/createDiscoveryStore.ts";
import { createRegistryLogSource, type RegistryLogSource } from "./discovery/createRegistryLogSource.ts";
import { applyRegistryEvent, offersOf, type RegistryEvent, type RegistryState } from "./discovery/registryState.ts";
import { scanBlockRanges } from "./discovery/scanBlockRanges.ts";

/** One provider's offer of one model, as the chain records it. */
export type Offer = {
  provider: Address;
  endpoint: string;
  hpkePublicKey: Hex;
  stake: bigint;
  modelId: bigint;
  modelName: string;
  weightsHash: Hex;
  royaltyBps: number;
  price: Price;
  /** What the offer serves, decoded from the on-chain bitmask (bits this version does not know are dropped). */
  capabilities: readonly Capability[];
};

/** The default most blocks one `eth_getLogs` spans: under the caps public RPCs set (commonly 2,000–10,000). */
export const DEFAULT_MAX_BLOCK_RANGE = 2_000;

/** Options of {@link createOfferDiscovery}. */
export type OfferDiscoveryOptions = {
  /** Where the registries' events are read (see createRegistryLogSource). */
  source: RegistryLogSource;
  /** Where the cursor and state are kept between runs. Default: nowhere (each start scans from `startBlock`). */
  store?: DiscoveryStore;
  /** Tells apart deployments sharing one store: the chain id and the registries' addresses. */
  scope: string;
  /** The block the registries were deployed in: the first scan starts here. */
  startBlock: bigint;
  /** The most blocks one log query spans. Default {@link DEFAULT_MAX_BLOCK_RANGE}. */
  maxBlockRange?: number;
  /**
   * Blocks behind the head that are not read yet, so a shallow reorg never reaches what was read.
   * Default 0 (a local chain does not reorganise); a reorg below the cursor is still noticed (its
   * block hash changed) and the view rebuilt.
   */
  confirmations?: number;
  logger?: Logger;
  /** Blocks read so far and to read in this refresh, after each page (for a long first scan). */
  onProgress?: (read: bigint, total: bigint) => void;
};

/** What one refresh read, for benchmarks and diagnostics. */
export type DiscoveryStats = { fromBlock: bigint; toBlock: bigint; pages: number; events: number; rebuilt: boolean };

/**
 * Follows the registries' events to keep the current offers: the first refresh reads from the
 * deployment block (or from where the store's cursor stopped) in ranges of at most
 * `maxBlockRange` blocks, saving the cursor and state after each; every later refresh reads only
 * the blocks since. Offers set, repriced, removed, paused, understaked and moved endpoints are
 * all reflected, as `ProviderRegistry.hasOffer` would decide. If the block under the cursor is no
 * longer the one read (a reorg deeper than `confirmations`, a chain started afresh), the view is
 * rebuilt from `startBlock`.
 *
 * @example
 * const discovery = createOfferDiscovery({ source: createRegistryLogSource(client, deployment), scope: discoveryScope(deployment), startBlock: BigInt(deployment.startBlock) });
 * const offers = await discovery.refresh();
 */
export function createOfferDiscovery(options: OfferDiscoveryOptions) {
  const { source, scope } = options;
  const store = options.store ?? createMemoryDiscoveryStore();
  const maxRange = options.maxBlockRange ?? DEFAULT_MAX_BLOCK_RANGE;
  if (!Number.isSafeInteger(maxRange) || maxRange < 1) {
    throw new GotongError(`The block range of a log query must be at least 1 block, not ${maxRange}`, { code: "invalid_arguments", param: "maxBlockRange", hint: `Leave it out for ${DEFAULT_MAX_BLOCK_RANGE.toLocaleString("en")}, or give the cap your RPC sets on eth_getLogs.` });
  }
  const confirmations = BigInt(options.confirmations ?? 0);
  let state: RegistryState | undefined;
  let cursor: DiscoveryCursor | undefined;
  let minStake: bigint | undefined;
  let offers: Offer[] = [];
  let dirty = true;
  let last: DiscoveryStats | undefined;
  let running: Promise<Offer[]> | undefined;

  const refreshOnce = async (): Promise<Offer[]> => {
    if (!state) ({ cursor, state } = store.load(scope));
    minStake ??= await source.minStake();
    const head = await source.blockNumber();
    if (cursor) {
      const hash = await source.blockHash(cursor.block);
      if (hash !== cursor.hash) {
        options.logger?.warn("the chain changed under the discovery cursor: reading the registries again from the deployment block", { block: cursor.block, stored: cursor.hash, now: hash ?? "none" });
        store.reset(scope);
        ({ cursor, state } = store.load(scope));
        dirty = true;
      }
    }
    const fromBlock = cursor ? cursor.block + 1n : options.startBlock;
    const toBlock = head - confirmations;
    const stats: DiscoveryStats = { fromBlock, toBlock, pages: 0, events: 0, rebuilt: false };
    if (fromBlock <= toBlock) {
      const current = state!;
      const total = toBlock - fromBlock + 1n;
      stats.pages = await scanBlockRanges({
        fromBlock,
        toBlock,
        maxRange,
        read: async (range) => {
          const [events, hash] = await Promise.all([source.logs(range), source.blockHash(range.toBlock)]);
          if (!hash) throw new GotongError(`Block ${range.toBlock} vanished while the registries were read`, { code: "chain_error", status: 503, retryable: true, hint: "The chain was reset or reorganised; the next refresh reads it again." });
          return { events, hash };
        },
        onPage: ({ events, hash }: { events: RegistryEvent[]; hash: Hex }, range) => {
          const providers = new Set<Address>();
          const models = new Set<bigint>();
          for (const event of events) {
            const change = applyRegistryEvent(current, event);
            if (change && "provider" in change) providers.add(change.provider);
            else if (change) models.add(change.modelId);
          }
          cursor = { block: range.toBlock, hash };
          store.commit(scope, current, { cursor, providers, models });
          if (events.length) dirty = true;
          stats.events += events.length;
          options.onProgress?.(range.toBlock - fromBlock + 1n, total);
        },
      });
    }
    if (dirty) {
      offers = offersOf(state!, minStake);
      dirty = false;
      stats.rebuilt = true;
    }
    last = stats;
    return offers;
  };

  return {
    /**
     * Reads the blocks since the last refresh and returns the offers as of the head (less
     * `confirmations`). Concurrent calls share one read. The same array is returned while nothing
     * changed.
     * @throws the RPC's error when the chain cannot be read (what was read before it is kept).
     */
    refresh(): Promise<Offer[]> {
      return (running ??= refreshOnce().finally(() => (running = undefined)));
    },
    /** The offers as of the last refresh (empty before the first). */
    offers: () => offers,
    /** The last block read, undefined before any. */
    cursor: () => cursor?.block,
    /** What the last refresh read. */
    lastRefresh: () => last,
  };
}

export type OfferDiscovery = ReturnType<typeof createOfferDiscovery>;

/** The scope a deployment's discovery state is kept under: its chain and both registries. */
export function discoveryScope(deployment: Deployment): string {
  return `${deployment.chainId}:${deployment.providerRegistry.toLowerCase()}:${deployment.modelRegistry.toLowerCase()}`;
}

/**
 * Reads every active provider's offers and the models they name from the registries' events, once
 * (nothing is kept: a gateway uses {@link createOfferDiscovery} with its store).
 */
export async function discoverOffers(client: PublicClient, deployment: Deployment, options: { maxBlockRange?: number } = {}): Promise<Offer[]> {
  return createOfferDiscovery({ source: createRegistryLogSource(client, deployment), scope: discoveryScope(deployment), startBlock: BigInt(deployment.startBlock ?? 0), maxBlockRange: options.maxBlockRange }).refresh();
}
