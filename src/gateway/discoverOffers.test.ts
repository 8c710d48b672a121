import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { createGatewayStore, type GatewayStore } from "./createGatewayStore.ts";
import { createOfferDiscovery } from "./discoverOffers.ts";
import type { RegistryLogSource } from "./discovery/createRegistryLogSource.ts";
import type { RegistryEvent } from "./discovery/registryState.ts";
import type { BlockRange } from "./discovery/scanBlockRanges.ts";

const MIN_STAKE = 100n;
const A = getAddress("0x00000000000000000000000000000000000000aa");
const B = getAddress("0x00000000000000000000000000000000000000bb");
const KEY = `0x${"11".repeat(32)}` as Hex;
const WEIGHTS = `0x${"22".repeat(32)}` as Hex;

type Body = RegistryEvent extends infer E ? (E extends RegistryEvent ? Omit<E, "blockNumber" | "logIndex"> : never) : never;

/**
 * A chain in memory: registry events by block, a head, block hashes that change when the chain is
 * forked (a reorg), and every log query asked of it. `refuseOver` makes it refuse ranges wider
 * than that, as public RPCs do.
 */
function fakeChain() {
  const events: RegistryEvent[] = [];
  const queries: BlockRange[] = [];
  let head = 0n;
  let fork = 0;
  let failAt: bigint | undefined;
  let refuseOver: bigint | undefined;
  const chain = {
    events,
    queries,
    setHead: (block: bigint) => void (head = block),
    /** Adds events in `block` (and moves the head there if it is behind). */
    at(block: bigint, ...bodies: Body[]) {
      bodies.forEach((b, i) => events.push({ ...b, blockNumber: block, logIndex: i } as RegistryEvent));
      if (block > head) head = block;
    },
    reorg: () => void fork++,
    failQueriesFrom: (block: bigint | undefined) => void (failAt = block),
    refuseRangesOver: (blocks: bigint | undefined) => void (refuseOver = blocks),
    source: {
      blockNumber: async () => head,
      blockHash: async (n) => (n <= head ? keccak256(toHex(`${fork}:${n}`)) : undefined),
      async logs(range) {
        if (refuseOver !== undefined && range.toBlock - range.fromBlock + 1n > refuseOver) throw new Error(`query exceeds max block range ${refuseOver}`);
        queries.push(range);
        if (failAt !== undefined && range.toBlock >= failAt) throw new Error("connection reset");
        return events.filter((e) => e.blockNumber >= range.fromBlock && e.blockNumber <= range.toBlock);
      },
      minStake: async () => MIN_STAKE,
    } satisfies RegistryLogSource,
  };
  return chain;
}

const registered = (provider: Address, endpoint = `http://${provider.slice(-2).toLowerCase()}.example`): Body => ({ name: "ProviderRegistered", provider, endpoint, hpkePublicKey: KEY, stake: MIN_STAKE });
const offerSet = (provider: Address, modelId: bigint, price: bigint): Body => ({ name: "OfferSet", provider, modelId, pricePerMillionInput: price, pricePerMillionOutput: price * 2n, capabilities: 1n });
const model = (modelId: bigint, name: string): Body => ({ name: "ModelRegistered", modelId, name_: name, weightsHash: WEIGHTS, royaltyBps: 500 });

const dirs: string[] = [];
const stores: GatewayStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function openStore(dir?: string) {
  const path = dir ?? mkdtempSync(join(tmpdir(), "gotong-discovery-"));
  if (!dir) dirs.push(path);
  const store = createGatewayStore(join(path, "gateway.db"));
  stores.push(store);
  return { store, dir: path };
}
const discover = (source: RegistryLogSource, store: GatewayStore | undefined, maxBlockRange = 2_000, startBlock = 1n) =>
  createOfferDiscovery({ source, store: store?.discovery, scope: "31337:registry", startBlock, maxBlockRange });
const summary = (offers: { provider: Address; modelId: bigint; modelName: string; endpoint: string; price: { pricePerMillionInput: bigint } }[]) =>
  offers.map((o) => `${o.provider.slice(-2).toLowerCase()} ${o.modelName}@${o.modelId} ${o.price.pricePerMillionInput} ${o.endpoint}`).sort();

describe("createOfferDiscovery", () => {
  it("pages the first scan in ranges never wider than the bound, contiguous from the start block to the head", async () => {
    const chain = fakeChain();
    chain.at(3n, model(1n, "tiny"));
    chain.at(4_500n, registered(A), offerSet(A, 1n, 10n));
    chain.setHead(9_999n);
    const offers = await discover(chain.source, undefined, 2_000).refresh();
    expect(summary(offers)).toEqual(["aa tiny@1 10 http://aa.example"]);
    expect(chain.queries.map((q) => [q.fromBlock, q.toBlock])).toEqual([
      [1n, 2_000n],
      [2_001n, 4_000n],
      [4_001n, 6_000n],
      [6_001n, 8_000n],
      [8_001n, 9_999n],
    ]);
  });

  it("follows new blocks: a refresh reads only the blocks since the last, and none when the head has not moved", async () => {
    const chain = fakeChain();
    chain.at(10n, model(1n, "tiny"), registered(A), offerSet(A, 1n, 10n));
    const discovery = discover(chain.source, undefined);
    await discovery.refresh();
    chain.queries.length = 0;
    await discovery.refresh();
    expect(chain.queries).toEqual([]);
    chain.at(11n, registered(B), offerSet(B, 1n, 7n));
    const offers = await discovery.refresh();
    expect(chain.queries).toEqual([{ fromBlock: 11n, toBlock: 11n }]);
    expect(summary(offers)).toEqual(["aa tiny@1 10 http://aa.example", "bb tiny@1 7 http://bb.example"]);
  });

  it("resumes after a restart from the persisted cursor: only the new blocks are queried, and what was read before is still there", async () => {
    const chain = fakeChain();
    chain.at(5n, model(1n, "tiny"), model(2n, "small"));
    chain.at(1_200n, registered(A), offerSet(A, 1n, 10n), offerSet(A, 2n, 20n));
    chain.setHead(5_000n);
    const { store, dir } = openStore();
    await discover(chain.source, store).refresh();
    store.close();
    stores.length = 0;

    chain.at(5_300n, registered(B), offerSet(B, 2n, 5n));
    chain.at(5_400n, { name: "OfferRemoved", provider: A, modelId: 1n });
    chain.setHead(5_600n);
    chain.queries.length = 0;
    const reopened = openStore(dir).store;
    const offers = await discover(chain.source, reopened).refresh();
    expect(chain.queries).toEqual([{ fromBlock: 5_001n, toBlock: 5_600n }]);
    expect(summary(offers)).toEqual(["aa small@2 20 http://aa.example", "bb small@2 5 http://bb.example"]);
  });

  it("reflects offers removed, repriced, paused, understaked and moved", async () => {
    const chain = fakeChain();
    chain.at(1n, model(1n, "tiny"), registered(A), offerSet(A, 1n, 10n), registered(B), offerSet(B, 1n, 20n));
    const discovery = discover(chain.source, undefined);
    expect(summary(await discovery.refresh())).toEqual(["aa tiny@1 10 http://aa.example", "bb tiny@1 20 http://bb.example"]);

    chain.at(2n, { name: "OfferRemoved", provider: A, modelId: 1n });
    expect(summary(await discovery.refresh())).toEqual(["bb tiny@1 20 http://bb.example"]);

    chain.at(3n, offerSet(A, 1n, 11n), offerSet(B, 1n, 21n), { name: "EndpointChanged", provider: B, endpoint: "https://b.example" });
    expect(summary(await discovery.refresh())).toEqual(["aa tiny@1 11 http://aa.example", "bb tiny@1 21 https://b.example"]);

    chain.at(4n, { name: "ProviderPaused", provider: A, paused: true });
    expect(summary(await discovery.refresh())).toEqual(["bb tiny@1 21 https://b.example"]);

    chain.at(5n, { name: "UnstakeRequested", provider: B, amount: 1n });
    expect(await discovery.refresh()).toEqual([]);

    chain.at(6n, { name: "ProviderPaused", provider: A, paused: false }, { name: "StakeAdded", provider: B, stake: MIN_STAKE });
    const offers = await discovery.refresh();
    expect(summary(offers)).toEqual(["aa tiny@1 11 http://aa.example", "bb tiny@1 21 https://b.example"]);
    expect(offers.find((o) => o.provider === B)!.stake).toBe(MIN_STAKE);
  });

  it("keeps a removal across a restart (the offer's row is gone from the store, not only from memory)", async () => {
    const chain = fakeChain();
    chain.at(1n, model(1n, "tiny"), registered(A), offerSet(A, 1n, 10n));
    const { store, dir } = openStore();
    await discover(chain.source, store).refresh();
    chain.at(2n, { name: "OfferRemoved", provider: A, modelId: 1n });
    expect(await discover(chain.source, store).refresh()).toEqual([]);
    store.close();
    stores.length = 0;
    chain.queries.length = 0;
    expect(await discover(chain.source, openStore(dir).store).refresh()).toEqual([]);
    expect(chain.queries).toEqual([]);
  });

  it("resumes a first scan cut halfway after the last page saved, never reading a page twice", async () => {
    const chain = fakeChain();
    chain.at(100n, model(1n, "tiny"), registered(A), offerSet(A, 1n, 10n));
    chain.at(4_100n, registered(B), offerSet(B, 1n, 20n));
    chain.setHead(6_000n);
    const { store } = openStore();
    chain.failQueriesFrom(4_001n);
    await expect(discover(chain.source, store).refresh()).rejects.toThrow("connection reset");
    chain.failQueriesFrom(undefined);
    chain.queries.length = 0;
    const offers = await discover(chain.source, store).refresh();
    expect(chain.queries).toEqual([{ fromBlock: 4_001n, toBlock: 6_000n }]);
    expect(summary(offers)).toEqual(["aa tiny@1 10 http://aa.example", "bb tiny@1 20 http://bb.example"]);
  });

  it("halves a range the RPC refuses as too wide, and keeps the smaller size", async () => {
    const chain = fakeChain();
    chain.at(1n, model(1n, "tiny"), registered(A), offerSet(A, 1n, 10n));
    chain.setHead(2_000n);
    chain.refuseRangesOver(500n);
    expect(summary(await discover(chain.source, undefined, 2_000).refresh())).toEqual(["aa tiny@1 10 http://aa.example"]);
    expect(chain.queries.map((q) => q.toBlock - q.fromBlock + 1n)).toEqual([500n, 500n, 500n, 500n]);
  });

  it("rebuilds from the start block when the block under its cursor changed (a reorg, or a chain started afresh)", async () => {
    const chain = fakeChain();
    chain.at(1n, model(1n, "tiny"), registered(A), offerSet(A, 1n, 10n));
    chain.setHead(50n);
    const { store } = openStore();
    await discover(chain.source, store).refresh();
    // The fork drops A's offer: the chain now has another history under the same block numbers.
    chain.events.splice(2, 1);
    chain.reorg();
    chain.queries.length = 0;
    expect(await discover(chain.source, store).refresh()).toEqual([]);
    expect(chain.queries).toEqual([{ fromBlock: 1n, toBlock: 50n }]);
  });

  it("refuses a block range below one block when it is made, naming the option", () => {
    expect(() => createOfferDiscovery({ source: fakeChain().source, scope: "s", startBlock: 1n, maxBlockRange: 0 })).toThrow(expect.objectContaining({ code: "invalid_arguments", param: "maxBlockRange" }));
  });

  it("stays behind the head by `confirmations` blocks", async () => {
    const chain = fakeChain();
    chain.at(1n, model(1n, "tiny"));
    chain.at(20n, registered(A), offerSet(A, 1n, 10n));
    const discovery = createOfferDiscovery({ source: chain.source, scope: "s", startBlock: 1n, confirmations: 5 });
    expect(await discovery.refresh()).toEqual([]);
    expect(discovery.cursor()).toBe(15n);
    chain.setHead(25n);
    expect(summary(await discovery.refresh())).toEqual(["aa tiny@1 10 http://aa.example"]);
  });
});
