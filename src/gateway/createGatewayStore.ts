import type { Address, Hex } from "viem";
import { openDatabase } from "../common/db.ts";
import { type SignedReceipt, receiptToJson, receiptFromJson } from "../payments/receipt.ts";

/** The gateway's view of one channel it pays through. */
export type ChannelRecord = { channelId: Hex; provider: Address; modelId: bigint; epoch: bigint; deposit: bigint; spent: bigint };
/** A request whose receipt has not arrived (its stream was cut): settled on the channel's next use. */
export type PendingRequest = { requestId: Hex; channelId: Hex; epoch: bigint; observedOutputTokens: bigint };
/** A receipt kept by the gateway: costs and hashes, never content. */
export type StoredReceipt = { receipt: SignedReceipt; provider: Address; modelId: bigint; modelName: string; createdAt: number };

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
`;

/** The gateway's durable state: its channels, what it has spent on each, and every receipt. */
export function createGatewayStore(path: string) {
  const db = openDatabase(path, schema);
  type ChannelRow = { channel_id: string; provider: string; model_id: string; epoch: string; deposit: string; spent: string };
  const toChannel = (r: ChannelRow): ChannelRecord => ({
    channelId: r.channel_id as Hex,
    provider: r.provider as Address,
    modelId: BigInt(r.model_id),
    epoch: BigInt(r.epoch),
    deposit: BigInt(r.deposit),
    spent: BigInt(r.spent),
  });
  const getChannel = db.prepare("SELECT * FROM channels WHERE channel_id = ?");
  const putChannel = db.prepare(
    `INSERT INTO channels (channel_id, provider, model_id, epoch, deposit, spent, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(channel_id) DO UPDATE SET epoch = excluded.epoch, deposit = excluded.deposit, spent = excluded.spent, updated_at = excluded.updated_at`,
  );
  const addSpent = db.prepare("UPDATE channels SET spent = ?, updated_at = ? WHERE channel_id = ? AND epoch = ?");
  const putReceipt = db.prepare(
    "INSERT OR IGNORE INTO receipts (request_id, channel_id, provider, model_id, model_name, cost, receipt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const putPending = db.prepare("INSERT OR REPLACE INTO pending (request_id, channel_id, epoch, observed_output_tokens, created_at) VALUES (?, ?, ?, ?, ?)");
  const delPending = db.prepare("DELETE FROM pending WHERE request_id = ?");
  const listPending = db.prepare("SELECT * FROM pending WHERE channel_id = ?");
  const listReceipts = db.prepare("SELECT * FROM receipts ORDER BY created_at DESC LIMIT ?");
  const listChannels = db.prepare("SELECT * FROM channels");
  const addReceipt = db.transaction((channel: ChannelRecord, entry: Omit<StoredReceipt, "createdAt">, spent: bigint) => {
    putReceipt.run(
      entry.receipt.requestId, entry.receipt.channelId, entry.provider, entry.modelId.toString(), entry.modelName,
      entry.receipt.cost.toString(), JSON.stringify(receiptToJson(entry.receipt)), Date.now(),
    );
    addSpent.run(spent.toString(), Date.now(), channel.channelId, channel.epoch.toString());
    delPending.run(entry.receipt.requestId);
  });

  return {
    getChannel(channelId: Hex): ChannelRecord | undefined {
      const row = getChannel.get(channelId) as ChannelRow | undefined;
      return row ? toChannel(row) : undefined;
    },
    listChannels(): ChannelRecord[] {
      return (listChannels.all() as ChannelRow[]).map(toChannel);
    },
    putChannel(c: ChannelRecord): void {
      putChannel.run(c.channelId, c.provider, c.modelId.toString(), c.epoch.toString(), c.deposit.toString(), c.spent.toString(), Date.now());
    },
    /** Records an accepted receipt and the channel's new spent total in one commit. */
    addReceipt(channel: ChannelRecord, entry: Omit<StoredReceipt, "createdAt">): ChannelRecord {
      const spent = channel.spent + entry.receipt.cost;
      addReceipt(channel, entry, spent);
      return { ...channel, spent };
    },
    putPending(p: PendingRequest): void {
      putPending.run(p.requestId, p.channelId, p.epoch.toString(), p.observedOutputTokens.toString(), Date.now());
    },
    deletePending(requestId: Hex): void {
      delPending.run(requestId);
    },
    listPending(channelId: Hex): PendingRequest[] {
      return (listPending.all(channelId) as { request_id: string; channel_id: string; epoch: string; observed_output_tokens: string }[]).map((r) => ({
        requestId: r.request_id as Hex,
        channelId: r.channel_id as Hex,
        epoch: BigInt(r.epoch),
        observedOutputTokens: BigInt(r.observed_output_tokens),
      }));
    },
    listReceipts(limit = 100): StoredReceipt[] {
      return (listReceipts.all(limit) as { provider: string; model_id: string; model_name: string; receipt: string; created_at: number }[]).map((r) => ({
        receipt: receiptFromJson(JSON.parse(r.receipt))!,
        provider: r.provider as Address,
        modelId: BigInt(r.model_id),
        modelName: r.model_name,
        createdAt: r.created_at,
      }));
    },
    close(): void {
      db.close();
    },
  };
}

export type GatewayStore = ReturnType<typeof createGatewayStore>;
