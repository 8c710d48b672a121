import type { Hex } from "viem";
import { openDatabase } from "../common/db.ts";
import { GotongError } from "../common/errors.ts";
import { type SignedReceipt, receiptToJson, receiptFromJson } from "../payments/receipt.ts";
import type { SignedVoucher } from "../payments/voucher.ts";

/** What the provider knows about one channel: what it is owed, and the best voucher it holds. */
export type ChannelState = {
  channelId: Hex;
  epoch: bigint;
  /** Cumulative cost of every request served on this channel in this epoch. */
  owed: bigint;
  /** Best (highest) voucher accepted, if any. */
  voucher: SignedVoucher | undefined;
  /** Cumulative amount already redeemed on-chain. */
  redeemed: bigint;
};

const schema = `
CREATE TABLE IF NOT EXISTS channels (
  channel_id TEXT NOT NULL,
  epoch TEXT NOT NULL,
  owed TEXT NOT NULL DEFAULT '0',
  voucher_amount TEXT NOT NULL DEFAULT '0',
  voucher_signature TEXT,
  redeemed TEXT NOT NULL DEFAULT '0',
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel_id, epoch)
);
CREATE TABLE IF NOT EXISTS receipts (
  request_id TEXT PRIMARY KEY,
  channel_id TEXT NOT NULL,
  receipt TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/**
 * The provider's durable money state in SQLite (WAL, synchronous=FULL). Every write commits before
 * the call returns, so a voucher the provider acknowledged survives SIGKILL; a failed commit throws
 * and the request is refused, never served unpaid-for.
 */
export function createProviderStore(path: string) {
  const db = openDatabase(path, schema);
  const selectChannel = db.prepare("SELECT * FROM channels WHERE channel_id = ? AND epoch = ?");
  const insertChannel = db.prepare(
    "INSERT OR IGNORE INTO channels (channel_id, epoch, updated_at) VALUES (?, ?, ?)",
  );
  const updateVoucher = db.prepare(
    "UPDATE channels SET voucher_amount = ?, voucher_signature = ?, updated_at = ? WHERE channel_id = ? AND epoch = ?",
  );
  const setOwed = db.prepare(
    `INSERT INTO channels (channel_id, epoch, owed, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT(channel_id, epoch) DO UPDATE SET owed = excluded.owed, updated_at = excluded.updated_at`,
  );
  const updateRedeemed = db.prepare("UPDATE channels SET redeemed = ?, updated_at = ? WHERE channel_id = ? AND epoch = ?");
  const insertReceipt = db.prepare("INSERT INTO receipts (request_id, channel_id, receipt, created_at) VALUES (?, ?, ?, ?)");
  const selectReceipt = db.prepare("SELECT receipt FROM receipts WHERE request_id = ?");
  const selectAll = db.prepare("SELECT * FROM channels");

  type Row = { channel_id: string; epoch: string; owed: string; voucher_amount: string; voucher_signature: string | null; redeemed: string };
  const toState = (row: Row): ChannelState => ({
    channelId: row.channel_id as Hex,
    epoch: BigInt(row.epoch),
    owed: BigInt(row.owed),
    redeemed: BigInt(row.redeemed),
    voucher: row.voucher_signature
      ? { channelId: row.channel_id as Hex, epoch: BigInt(row.epoch), cumulativeAmount: BigInt(row.voucher_amount), signature: row.voucher_signature as Hex }
      : undefined,
  });

  const guard = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof GotongError) throw cause;
      throw new GotongError(`Could not commit ${what} to the provider's database`, {
        code: "storage_failed",
        hint: "The provider stops accepting requests until its disk is writable again.",
        status: 503,
        retryable: true,
        cause,
      });
    }
  };

  const getOrCreate = (channelId: Hex, epoch: bigint): ChannelState => {
    insertChannel.run(channelId, epoch.toString(), Date.now());
    return toState(selectChannel.get(channelId, epoch.toString()) as Row);
  };
  const acceptVoucher = db.transaction((voucher: SignedVoucher): boolean => {
    const state = getOrCreate(voucher.channelId, voucher.epoch);
    if (state.voucher && state.voucher.cumulativeAmount >= voucher.cumulativeAmount) return false;
    updateVoucher.run(voucher.cumulativeAmount.toString(), voucher.signature, Date.now(), voucher.channelId, voucher.epoch.toString());
    return true;
  });
  const recordServed = db.transaction((epoch: bigint, receipt: SignedReceipt) => {
    setOwed.run(receipt.channelId, epoch.toString(), receipt.cumulativeOwed.toString(), Date.now());
    insertReceipt.run(receipt.requestId, receipt.channelId, JSON.stringify(receiptToJson(receipt)), Date.now());
  });

  return {
    /** The state of a channel in an epoch (zero owed and no voucher when new). */
    getChannel(channelId: Hex, epoch: bigint): ChannelState {
      const row = selectChannel.get(channelId, epoch.toString()) as Row | undefined;
      return row ? toState(row) : { channelId, epoch, owed: 0n, voucher: undefined, redeemed: 0n };
    },
    /** Durably keeps `voucher` when it beats the one held; returns whether it was newer. */
    acceptVoucher(voucher: SignedVoucher): boolean {
      return guard("a voucher", () => acceptVoucher(voucher));
    },
    /**
     * Keeps a served request's receipt and makes its `cumulativeOwed` what the channel owes, in one
     * commit. The receipt was signed over what was owed before plus its cost, read in the same turn.
     */
    recordServed(epoch: bigint, receipt: SignedReceipt): void {
      guard("a receipt", () => recordServed(epoch, receipt));
    },
    /** Whether a request id has been used before. */
    hasReceipt(requestId: Hex): boolean {
      return selectReceipt.get(requestId) !== undefined;
    },
    getReceipt(requestId: Hex): SignedReceipt | undefined {
      const row = selectReceipt.get(requestId) as { receipt: string } | undefined;
      return row ? receiptFromJson(JSON.parse(row.receipt)) : undefined;
    },
    /** Records what the chain says has been redeemed on a channel. */
    setRedeemed(channelId: Hex, epoch: bigint, redeemed: bigint): void {
      guard("a redemption", () => updateRedeemed.run(redeemed.toString(), Date.now(), channelId, epoch.toString()));
    },
    /** Channels holding a voucher worth more than what has been redeemed. */
    unredeemed(): ChannelState[] {
      return (selectAll.all() as Row[]).map(toState).filter((s) => s.voucher && s.voucher.cumulativeAmount > s.redeemed);
    },
    close(): void {
      db.close();
    },
  };
}

export type ProviderStore = ReturnType<typeof createProviderStore>;
