import type { Address, Hex } from "viem";
import { openDatabase } from "../common/db.ts";
import type { Migration } from "../common/migrate.ts";
import { checkDatabaseWritable } from "../common/checkDatabaseWritable.ts";
import { GotongError } from "../common/errors.ts";
import { createGroupCommit } from "../common/groupCommit.ts";
import { type SignedReceipt, receiptToJson, receiptFromJson } from "../protocol/receipt.ts";
import { createApiKeyStore, createApiKeyTables } from "./apiKeys/createApiKeyStore.ts";
import { createDiscoveryStore, DISCOVERY_TABLES } from "./discovery/createDiscoveryStore.ts";

/**
 * The gateway's view of one channel it pays through. `salt` tells apart the gateway's channels to
 * one (provider, model): a fresh one is opened under another salt while an older one closes.
 */
export type ChannelRecord = { channelId: Hex; provider: Address; modelId: bigint; salt: bigint; epoch: bigint; deposit: bigint; spent: bigint };
/** A request whose receipt has not arrived (its stream was cut): settled on the channel's next use. */
export type PendingRequest = {
  requestId: Hex;
  channelId: Hex;
  epoch: bigint;
  /** Output received before the stream was cut (or the request's cap while it runs). */
  observedOutputTokens: bigint;
  /** The request's own bounds (see checkReceipt), so a receipt settled later is held to them too. */
  maxInputTokens: bigint;
  maxOutputTokens: bigint;
};
/** A receipt kept by the gateway: costs and hashes, never content. */
export type StoredReceipt = { receipt: SignedReceipt; provider: Address; modelId: bigint; modelName: string; createdAt: number; /** The API key it was paid for (a gateway started with --keys). */ keyId?: string };

const schema = `
CREATE TABLE IF NOT EXISTS channels (
  channel_id TEXT PRIMARY KEY, provider TEXT NOT NULL, model_id TEXT NOT NULL,
  epoch TEXT NOT NULL, deposit TEXT NOT NULL, spent TEXT NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
  request_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, provider TEXT NOT NULL, model_id TEXT NOT NULL,
  model_name TEXT NOT NULL, cost TEXT NOT NULL, receipt TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
  request_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, epoch TEXT NOT NULL,
  observed_output_tokens TEXT NOT NULL, created_at INTEGER NOT NULL
);
-- Receipts the gateway refused (and paid nothing for): the provider stays excluded after a restart.
CREATE TABLE IF NOT EXISTS refusals (
  request_id TEXT PRIMARY KEY, provider TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, created_at INTEGER NOT NULL
);
`;

/**
 * The gateway store's schema (its API keys' tables too: one file, one version), one version per
 * step (see migrate). A schema change is a new migration at the end, never an edit of one already
 * released: users' files are at every version.
 */
const migrations: Migration[] = [
  {
    // The schema stores had before they carried a version, built as they built it: it only creates
    // what is missing, so those files become version 1 with every channel, receipt and key.
    version: 1,
    up(db) {
      db.exec(schema);
      // Stores written before the receipt bounds existed: their pending rows are bounded by the
      // output they saw only (a large input bound), as then.
      const pendingColumns = new Set((db.prepare("PRAGMA table_info(pending)").all() as { name: string }[]).map((c) => c.name));
      if (!pendingColumns.has("max_input_tokens")) db.exec("ALTER TABLE pending ADD COLUMN max_input_tokens TEXT NOT NULL DEFAULT '9007199254740991'");
      if (!pendingColumns.has("max_output_tokens")) db.exec("ALTER TABLE pending ADD COLUMN max_output_tokens TEXT NOT NULL DEFAULT '9007199254740991'");
      // API keys, their budgets' holds and usage, and the key on each receipt.
      createApiKeyTables(db);
    },
  },
  {
    // Channel ids take a salt (several channels per provider and model); rows from before were the
    // one channel of their pair, salt 0.
    version: 2,
    up: "ALTER TABLE channels ADD COLUMN salt TEXT NOT NULL DEFAULT '0'",
  },
  {
    // Discovery's cursor and the registries' state as of it: a restart reads only the blocks since.
    version: 3,
    up: DISCOVERY_TABLES,
  },
];

/**
 * The gateway's durable state: its channels, what it has spent on each, and every receipt. The
 * writes of requests (pending records, receipts, API key holds) share one commit per turn of the
 * event loop (see createGroupCommit); a request is sent to its provider only once its pending
 * record is on disk (`durable()`), so a gateway that dies mid-request still settles it later.
 */
export function createGatewayStore(path: string) {
  const db = openDatabase(path, { what: "gateway store", migrations });
  const commits = createGroupCommit(
    db,
    (cause) =>
      new GotongError("Could not commit the gateway's records to its database", {
        code: "storage_failed",
        status: 503,
        retryable: true,
        hint: "Check that GOTONG_HOME is writable and the disk is not full.",
        cause,
      }),
  );
  const apiKeys = createApiKeyStore(db);
  type ChannelRow = { channel_id: string; provider: string; model_id: string; salt: string; epoch: string; deposit: string; spent: string };
  const toChannel = (r: ChannelRow): ChannelRecord => ({
    channelId: r.channel_id as Hex,
    provider: r.provider as Address,
    modelId: BigInt(r.model_id),
    salt: BigInt(r.salt),
    epoch: BigInt(r.epoch),
    deposit: BigInt(r.deposit),
    spent: BigInt(r.spent),
  });
  const getChannel = db.prepare("SELECT * FROM channels WHERE channel_id = ?");
  const putChannel = db.prepare(
    `INSERT INTO channels (channel_id, provider, model_id, salt, epoch, deposit, spent, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(channel_id) DO UPDATE SET epoch = excluded.epoch, deposit = excluded.deposit, spent = excluded.spent, updated_at = excluded.updated_at`,
  );
  const addSpent = db.prepare("UPDATE channels SET spent = ?, updated_at = ? WHERE channel_id = ? AND epoch = ?");
  const putRefusal = db.prepare("INSERT OR IGNORE INTO refusals (request_id, provider, code, message, created_at) VALUES (?, ?, ?, ?, ?)");
  const refusedProviders = db.prepare("SELECT DISTINCT provider FROM refusals");
  const putReceipt = db.prepare(
    "INSERT OR IGNORE INTO receipts (request_id, channel_id, provider, model_id, model_name, cost, receipt, created_at, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const putPending = db.prepare(
    "INSERT OR REPLACE INTO pending (request_id, channel_id, epoch, observed_output_tokens, max_input_tokens, max_output_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const delPending = db.prepare("DELETE FROM pending WHERE request_id = ?");
  const listPending = db.prepare("SELECT * FROM pending WHERE channel_id = ?");
  const listReceipts = db.prepare("SELECT * FROM receipts ORDER BY created_at DESC LIMIT ?");
  const listKeyReceipts = db.prepare("SELECT * FROM receipts WHERE key_id = ? ORDER BY created_at DESC LIMIT ?");
  const listChannels = db.prepare("SELECT * FROM channels");
  const listPairChannels = db.prepare("SELECT * FROM channels WHERE lower(provider) = lower(?) AND model_id = ? ORDER BY updated_at DESC, CAST(salt AS INTEGER) DESC");
  // One commit: the receipt is inserted if it is new, and only then is its cost added to what the
  // channel has spent, read inside the same transaction. Accepting a receipt twice (a settled cut
  // stream, a replayed answer) changes nothing the second time.
  const addReceipt = db.transaction((entry: Omit<StoredReceipt, "createdAt">, epoch: bigint): { added: boolean; channel: ChannelRecord | undefined } => {
    const receipt = entry.receipt;
    // A request sent for an API key held its worst case against the key's budget: the receipt
    // records the key, and the hold becomes the receipt's cost, in this same commit.
    const keyId = apiKeys.reservedBy(receipt.requestId);
    const inserted = putReceipt.run(
      receipt.requestId, receipt.channelId, entry.provider, entry.modelId.toString(), entry.modelName,
      receipt.cost.toString(), JSON.stringify(receiptToJson(receipt)), Date.now(), keyId ?? null,
    ).changes === 1;
    if (inserted) apiKeys.settle(receipt.requestId, receipt.cost);
    else apiKeys.release(receipt.requestId);
    delPending.run(receipt.requestId);
    const row = getChannel.get(receipt.channelId) as ChannelRow | undefined;
    const channel = row ? toChannel(row) : undefined;
    if (!inserted || !channel || channel.epoch !== epoch) return { added: false, channel };
    const spent = channel.spent + receipt.cost;
    addSpent.run(spent.toString(), Date.now(), channel.channelId, channel.epoch.toString());
    return { added: true, channel: { ...channel, spent } };
  });

  return {
    getChannel(channelId: Hex): ChannelRecord | undefined {
      const row = getChannel.get(channelId) as ChannelRow | undefined;
      return row ? toChannel(row) : undefined;
    },
    listChannels(): ChannelRecord[] {
      return (listChannels.all() as ChannelRow[]).map(toChannel);
    },
    /** The gateway's channels to `provider` for `modelId` (one per salt), the most recently used first. */
    listChannelsFor(provider: Address, modelId: bigint): ChannelRecord[] {
      return (listPairChannels.all(provider, modelId.toString()) as ChannelRow[]).map(toChannel);
    },
    /** Records a channel (its salt defaults to 0, and never changes once recorded: it is part of the id). */
    putChannel(c: Omit<ChannelRecord, "salt"> & { salt?: bigint }): void {
      commits.now(() => putChannel.run(c.channelId, c.provider, c.modelId.toString(), (c.salt ?? 0n).toString(), c.epoch.toString(), c.deposit.toString(), c.spent.toString(), Date.now()));
    },
    /**
     * Records an accepted receipt for a request made in `epoch` of its channel and adds its cost to
     * the channel's spent total, in one transaction (in the turn's shared commit, with the deletion
     * of the request's pending record: a crash before it loses both, and the receipt is settled again); `added` is false when it was recorded before (or the
     * channel has moved to another epoch), and then nothing is added.
     */
    addReceipt(entry: Omit<StoredReceipt, "createdAt">, epoch: bigint): { added: boolean; channel: ChannelRecord | undefined } {
      return commits.write(() => addReceipt(entry, epoch));
    },
    /** Remembers a refused receipt: nothing was paid for it, and its provider stays excluded. */
    addRefusal(requestId: Hex, provider: Address, code: string, message: string): void {
      commits.write(() => putRefusal.run(requestId, provider, code, message, Date.now()));
    },
    /** Providers whose receipts this gateway has refused. */
    refusedProviders(): Address[] {
      return (refusedProviders.all() as { provider: string }[]).map((r) => r.provider as Address);
    },
    putPending(p: PendingRequest): void {
      commits.write(() => putPending.run(p.requestId, p.channelId, p.epoch.toString(), p.observedOutputTokens.toString(), p.maxInputTokens.toString(), p.maxOutputTokens.toString(), Date.now()));
    },
    /** Forgets a request whose receipt will never be paid, and lets go of its key's hold. */
    deletePending(requestId: Hex): void {
      commits.write(() => {
        delPending.run(requestId);
        apiKeys.release(requestId);
      });
    },
    listPending(channelId: Hex): PendingRequest[] {
      type Row = { request_id: string; channel_id: string; epoch: string; observed_output_tokens: string; max_input_tokens: string; max_output_tokens: string };
      return (listPending.all(channelId) as Row[]).map((r) => ({
        requestId: r.request_id as Hex,
        channelId: r.channel_id as Hex,
        epoch: BigInt(r.epoch),
        observedOutputTokens: BigInt(r.observed_output_tokens),
        maxInputTokens: BigInt(r.max_input_tokens),
        maxOutputTokens: BigInt(r.max_output_tokens),
      }));
    },
    /** The latest receipts, newest first; only those paid for API key `keyId` when it is given. */
    listReceipts(limit = 100, keyId?: string): StoredReceipt[] {
      const rows = keyId === undefined ? listReceipts.all(limit) : listKeyReceipts.all(keyId, limit);
      return (rows as { provider: string; model_id: string; model_name: string; receipt: string; created_at: number; key_id: string | null }[]).map((r) => ({
        receipt: receiptFromJson(JSON.parse(r.receipt))!,
        provider: r.provider as Address,
        modelId: BigInt(r.model_id),
        modelName: r.model_name,
        createdAt: r.created_at,
        ...(r.key_id ? { keyId: r.key_id } : {}),
      }));
    },
    /** The gateway's API keys (`gotong gateway key`), their budgets and usage. */
    apiKeys,
    /** Discovery's cursor and offers cache (see createOfferDiscovery). */
    discovery: createDiscoveryStore(db),
    /** Throws unless the store can commit a write now (see checkDatabaseWritable): for readiness. */
    checkWritable(): void {
      commits.now(() => checkDatabaseWritable(db));
    },
    /** Runs a write of a request (an API key's hold, say) in the turn's shared commit. */
    write<T>(write: () => T): T {
      return commits.write(write);
    },
    /**
     * Resolves once every write made so far is on disk; rejects (storage_failed) when their shared
     * commit failed, and then none of them was kept. Call it in the same turn as the write.
     */
    durable(): Promise<void> {
      return commits.durable();
    },
    close(): void {
      commits.flush();
      db.close();
    },
  };
}

export type GatewayStore = ReturnType<typeof createGatewayStore>;
