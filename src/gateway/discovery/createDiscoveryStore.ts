import type Database from "better-sqlite3";
import type { Address, Hex } from "viem";
import { emptyRegistryState, type ModelState, type ProviderState, type RegistryState } from "./registryState.ts";

/**
 * The discovery tables of the gateway store (its migration, see createGatewayStore): per
 * deployment (`scope`), the last block read and its hash, and the registries' state as of it.
 */
export const DISCOVERY_TABLES = `
CREATE TABLE discovery_cursor (scope TEXT PRIMARY KEY, block TEXT NOT NULL, block_hash TEXT NOT NULL);
CREATE TABLE discovery_providers (
  scope TEXT NOT NULL, provider TEXT NOT NULL, endpoint TEXT NOT NULL, hpke_public_key TEXT NOT NULL,
  stake TEXT NOT NULL, paused INTEGER NOT NULL, PRIMARY KEY (scope, provider)
);
CREATE TABLE discovery_offers (
  scope TEXT NOT NULL, provider TEXT NOT NULL, model_id TEXT NOT NULL, price_input TEXT NOT NULL,
  price_output TEXT NOT NULL, capabilities TEXT NOT NULL, PRIMARY KEY (scope, provider, model_id)
);
CREATE TABLE discovery_models (
  scope TEXT NOT NULL, model_id TEXT NOT NULL, name TEXT NOT NULL, weights_hash TEXT NOT NULL,
  royalty_bps INTEGER NOT NULL, PRIMARY KEY (scope, model_id)
);
`;

/** The last block discovery has read, and its hash (to notice a reorg or a reset chain under it). */
export type DiscoveryCursor = { block: bigint; hash: Hex };

/** What one page of a scan changed: the providers and models to write as they are now, and the new cursor. */
export type DiscoveryCommit = { cursor: DiscoveryCursor; providers: Iterable<Address>; models: Iterable<bigint> };

/** Where discovery keeps its cursor and state between runs. */
export type DiscoveryStore = {
  load(scope: string): { cursor: DiscoveryCursor | undefined; state: RegistryState };
  /** Writes the changed rows of `state` and the cursor in one commit. */
  commit(scope: string, state: RegistryState, change: DiscoveryCommit): void;
  /** Forgets everything of `scope` (the chain under the cursor changed): the next scan starts over. */
  reset(scope: string): void;
};

/**
 * The discovery store on the gateway's database: state and cursor move together in one commit
 * per page, so a gateway stopped (or killed) mid-scan resumes after the last page it saved.
 */
export function createDiscoveryStore(db: Database.Database): DiscoveryStore {
  const getCursor = db.prepare("SELECT block, block_hash FROM discovery_cursor WHERE scope = ?");
  const putCursor = db.prepare("INSERT INTO discovery_cursor (scope, block, block_hash) VALUES (?, ?, ?) ON CONFLICT(scope) DO UPDATE SET block = excluded.block, block_hash = excluded.block_hash");
  const listProviders = db.prepare("SELECT * FROM discovery_providers WHERE scope = ?");
  const listOffers = db.prepare("SELECT * FROM discovery_offers WHERE scope = ?");
  const listModels = db.prepare("SELECT * FROM discovery_models WHERE scope = ?");
  const putProvider = db.prepare(
    `INSERT INTO discovery_providers (scope, provider, endpoint, hpke_public_key, stake, paused) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(scope, provider) DO UPDATE SET endpoint = excluded.endpoint, hpke_public_key = excluded.hpke_public_key, stake = excluded.stake, paused = excluded.paused`,
  );
  const delProviderOffers = db.prepare("DELETE FROM discovery_offers WHERE scope = ? AND provider = ?");
  const putOffer = db.prepare("INSERT INTO discovery_offers (scope, provider, model_id, price_input, price_output, capabilities) VALUES (?, ?, ?, ?, ?, ?)");
  const putModel = db.prepare(
    `INSERT INTO discovery_models (scope, model_id, name, weights_hash, royalty_bps) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(scope, model_id) DO UPDATE SET name = excluded.name, weights_hash = excluded.weights_hash, royalty_bps = excluded.royalty_bps`,
  );
  const resetTables = ["discovery_cursor", "discovery_providers", "discovery_offers", "discovery_models"].map((t) => db.prepare(`DELETE FROM ${t} WHERE scope = ?`));

  const commit = db.transaction((scope: string, state: RegistryState, change: DiscoveryCommit) => {
    for (const address of change.providers) {
      const p = state.providers.get(address);
      if (!p) continue;
      putProvider.run(scope, address, p.endpoint, p.hpkePublicKey, p.stake.toString(), p.paused ? 1 : 0);
      // An offer removed is a row gone: the provider's offers are written whole.
      delProviderOffers.run(scope, address);
      for (const [modelId, t] of p.offers) putOffer.run(scope, address, modelId.toString(), t.pricePerMillionInput.toString(), t.pricePerMillionOutput.toString(), t.capabilities.toString());
    }
    for (const modelId of change.models) {
      const m = state.models.get(modelId);
      if (m) putModel.run(scope, modelId.toString(), m.name, m.weightsHash, m.royaltyBps);
    }
    putCursor.run(scope, change.cursor.block.toString(), change.cursor.hash);
  });
  const reset = db.transaction((scope: string) => {
    for (const statement of resetTables) statement.run(scope);
  });

  return {
    load(scope) {
      const row = getCursor.get(scope) as { block: string; block_hash: string } | undefined;
      const state = emptyRegistryState();
      if (!row) return { cursor: undefined, state };
      type ProviderRow = { provider: string; endpoint: string; hpke_public_key: string; stake: string; paused: number };
      for (const r of listProviders.all(scope) as ProviderRow[]) {
        const p: ProviderState = { endpoint: r.endpoint, hpkePublicKey: r.hpke_public_key as Hex, stake: BigInt(r.stake), paused: r.paused === 1, offers: new Map() };
        state.providers.set(r.provider as Address, p);
      }
      type OfferRow = { provider: string; model_id: string; price_input: string; price_output: string; capabilities: string };
      for (const r of listOffers.all(scope) as OfferRow[]) {
        state.providers.get(r.provider as Address)?.offers.set(BigInt(r.model_id), { pricePerMillionInput: BigInt(r.price_input), pricePerMillionOutput: BigInt(r.price_output), capabilities: BigInt(r.capabilities) });
      }
      type ModelRow = { model_id: string; name: string; weights_hash: string; royalty_bps: number };
      for (const r of listModels.all(scope) as ModelRow[]) {
        const m: ModelState = { name: r.name, weightsHash: r.weights_hash as Hex, royaltyBps: r.royalty_bps };
        state.models.set(BigInt(r.model_id), m);
      }
      return { cursor: { block: BigInt(row.block), hash: row.block_hash as Hex }, state };
    },
    commit: (scope, state, change) => commit(scope, state, change),
    reset: (scope) => reset(scope),
  };
}

/** A store that keeps nothing between runs: every start scans from the deployment block. */
export function createMemoryDiscoveryStore(): DiscoveryStore {
  return { load: () => ({ cursor: undefined, state: emptyRegistryState() }), commit() {}, reset() {} };
}
