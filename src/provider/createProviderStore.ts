import type { Hex } from "viem";
import { openDatabase } from "../common/db.ts";
import type { Migration } from "../common/migrate.ts";
import { checkDatabaseWritable } from "../common/checkDatabaseWritable.ts";
import { GotongError } from "../common/errors.ts";
import { createGroupCommit } from "../common/groupCommit.ts";
import { type SignedReceipt, receiptToJson, receiptFromJson } from "../protocol/receipt.ts";
import type { SignedVoucher } from "../protocol/voucher.ts";

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
-- Request ids taken by requests still running. A row is written before the first token and
-- removed when the request's receipt is recorded (or the request fails), so an id can never be
-- generated twice, and a gateway asking for a receipt learns that it is still on its way.
CREATE TABLE IF NOT EXISTS running (
  request_id TEXT PRIMARY KEY,
  channel_id TEXT NOT NULL,
  started_at INTEGER NOT NULL
);
`;

// ---------------------------------------------------------------- redeem quarantine (createRedeemer)

/**
 * A voucher the redeemer holds back because the chain would not pay it (a closed channel, a
 * revoked or paused agent wallet, another epoch), with the contract's reason. A permanent one is
 * never tried again; another is re-checked (simulated, never sent) after `retryAt`, and at once
 * when a higher voucher arrives for its channel and epoch.
 */
export type QuarantinedVoucher = {
  channelId: Hex;
  epoch: bigint;
  /** The cumulative amount of the voucher held back; a higher one is tried again. */
  cumulativeAmount: bigint;
  /** The PaymentChannels error that refuses it (`ChannelClosed`, `InvalidVoucherSignature`, ...). */
  reason: string;
  /** True when it can never pay (the challenge period is over, the epoch moved on). */
  permanent: boolean;
  /** How many checks in a row refused this voucher. */
  attempts: number;
  /** When it was first held back (ms since the epoch). */
  quarantinedAt: number;
  /** When it is checked again (ms since the epoch); undefined when permanent. */
  retryAt: number | undefined;
};

/** A signed `redeemBatch` transaction sent (or about to be) and not yet seen mined. */
export type InFlightRedeem = {
  hash: Hex;
  /** The signed transaction, rebroadcast as it is until it is mined: never a second one. */
  raw: Hex;
  nonce: number;
  /** The vouchers in it, to check on-chain once it is mined. */
  vouchers: { channelId: Hex; epoch: bigint; cumulativeAmount: bigint }[];
  createdAt: number;
};

const redeemSchema = `
CREATE TABLE IF NOT EXISTS redeem_quarantine (
  channel_id TEXT NOT NULL,
  epoch TEXT NOT NULL,
  voucher_amount TEXT NOT NULL,
  reason TEXT NOT NULL,
  permanent INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  quarantined_at INTEGER NOT NULL,
  retry_at INTEGER,
  PRIMARY KEY (channel_id, epoch)
);
CREATE TABLE IF NOT EXISTS redeem_in_flight (
  hash TEXT PRIMARY KEY,
  raw TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  vouchers TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

// ---------------------------------------------------------------- end redeem quarantine

/**
 * The provider store's schema, one version per step (see migrate). A schema change is a new
 * migration at the end, never an edit of one already released: users' files are at every version.
 * Version 1 is the schema stores had before they carried a version; it only creates what is
 * missing, so those files become version 1 with every voucher and receipt they hold.
 */
const migrations: Migration[] = [
  { version: 1, up: schema + redeemSchema },
  {
    // x402 batch-settlement channels: the latest voucher of each, which the provider claims with.
    version: 2,
    up: `CREATE TABLE x402_batch_channels (
      channel_id TEXT PRIMARY KEY,
      config TEXT NOT NULL,
      max_claimable TEXT NOT NULL,
      signature TEXT NOT NULL,
      model_id TEXT NOT NULL,
      claimed TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
  },
];

/** The latest voucher a provider holds on an x402 batch-settlement channel (see createBatchChannels). */
export type StoredBatchVoucher = {
  channelId: Hex;
  /** The channel's ChannelConfig, as JSON. */
  config: string;
  maxClaimableAmount: bigint;
  signature: Hex;
  modelId: bigint;
  /** What the chain had claimed on the channel when last read or claimed. */
  claimed: bigint;
};

/**
 * The provider's durable money state in SQLite (WAL, synchronous=FULL). The writes of requests
 * (their ids, vouchers and receipts) share one commit per turn of the event loop (see
 * createGroupCommit): the provider awaits `durable()` before it serves on a voucher or hands out a
 * receipt, so a voucher the provider acknowledged survives SIGKILL, and a failed commit refuses
 * every request of its batch, none served unpaid-for. The redeemer's rare writes commit at once.
 */
export function createProviderStore(path: string) {
  const db = openDatabase(path, { what: "provider store", migrations });
  // ---- redeem quarantine and in-flight redeems (createRedeemer)
  const upsertQuarantine = db.prepare(
    `INSERT INTO redeem_quarantine (channel_id, epoch, voucher_amount, reason, permanent, attempts, quarantined_at, retry_at)
     VALUES (?, ?, ?, ?, ?, 1, ?, ?)
     ON CONFLICT(channel_id, epoch) DO UPDATE SET
       attempts = CASE WHEN voucher_amount = excluded.voucher_amount THEN attempts + 1 ELSE 1 END,
       quarantined_at = CASE WHEN voucher_amount = excluded.voucher_amount THEN quarantined_at ELSE excluded.quarantined_at END,
       voucher_amount = excluded.voucher_amount, reason = excluded.reason, permanent = excluded.permanent,
       retry_at = excluded.retry_at`,
  );
  const selectQuarantine = db.prepare("SELECT * FROM redeem_quarantine WHERE channel_id = ? AND epoch = ?");
  const selectAllQuarantine = db.prepare("SELECT * FROM redeem_quarantine ORDER BY quarantined_at");
  const deleteQuarantine = db.prepare("DELETE FROM redeem_quarantine WHERE channel_id = ? AND epoch = ?");
  const insertInFlight = db.prepare("INSERT OR REPLACE INTO redeem_in_flight (hash, raw, nonce, vouchers, created_at) VALUES (?, ?, ?, ?, ?)");
  const selectInFlight = db.prepare("SELECT * FROM redeem_in_flight ORDER BY nonce");
  const deleteInFlight = db.prepare("DELETE FROM redeem_in_flight WHERE hash = ?");
  type QuarantineRow = { channel_id: string; epoch: string; voucher_amount: string; reason: string; permanent: number; attempts: number; quarantined_at: number; retry_at: number | null };
  const toQuarantined = (row: QuarantineRow): QuarantinedVoucher => ({
    channelId: row.channel_id as Hex,
    epoch: BigInt(row.epoch),
    cumulativeAmount: BigInt(row.voucher_amount),
    reason: row.reason,
    permanent: row.permanent === 1,
    attempts: row.attempts,
    quarantinedAt: row.quarantined_at,
    retryAt: row.retry_at ?? undefined,
  });
  type InFlightRow = { hash: string; raw: string; nonce: number; vouchers: string; created_at: number };
  const toInFlight = (row: InFlightRow): InFlightRedeem => ({
    hash: row.hash as Hex,
    raw: row.raw as Hex,
    nonce: row.nonce,
    vouchers: (JSON.parse(row.vouchers) as { channelId: Hex; epoch: string; cumulativeAmount: string }[]).map((v) => ({ channelId: v.channelId, epoch: BigInt(v.epoch), cumulativeAmount: BigInt(v.cumulativeAmount) })),
    createdAt: row.created_at,
  });
  // ---- end redeem quarantine
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
  const insertRunning = db.prepare("INSERT OR IGNORE INTO running (request_id, channel_id, started_at) VALUES (?, ?, ?)");
  const deleteRunning = db.prepare("DELETE FROM running WHERE request_id = ?");
  const selectRunning = db.prepare("SELECT 1 FROM running WHERE request_id = ?");
  const putBatchVoucher = db.prepare(
    `INSERT INTO x402_batch_channels (channel_id, config, max_claimable, signature, model_id, claimed, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(channel_id) DO UPDATE SET config = excluded.config, max_claimable = excluded.max_claimable, signature = excluded.signature,
       model_id = excluded.model_id, claimed = excluded.claimed, updated_at = excluded.updated_at`,
  );
  const setBatchClaimed = db.prepare("UPDATE x402_batch_channels SET claimed = ?, updated_at = ? WHERE channel_id = ?");
  const selectBatchVouchers = db.prepare("SELECT * FROM x402_batch_channels");
  type BatchRow = { channel_id: string; config: string; max_claimable: string; signature: string; model_id: string; claimed: string };
  const toBatchVoucher = (r: BatchRow): StoredBatchVoucher => ({
    channelId: r.channel_id as Hex,
    config: r.config,
    maxClaimableAmount: BigInt(r.max_claimable),
    signature: r.signature as Hex,
    modelId: BigInt(r.model_id),
    claimed: BigInt(r.claimed),
  });
  // Requests running when the process died ended with it: nothing was billed for them.
  db.exec("DELETE FROM running");

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

  const storageFailed = (what: string, cause: unknown) =>
    new GotongError(`Could not commit ${what} to the provider's database`, {
      code: "storage_failed",
      hint: "The provider stops accepting requests until its disk is writable again.",
      status: 503,
      retryable: true,
      cause,
    });
  const commits = createGroupCommit(db, (cause) => storageFailed("a batch of requests", cause));
  /** A request's write, in the turn's shared commit (await `durable()` before acting on it). */
  const batched = <T>(what: string, fn: () => T): T => guard(what, () => commits.write(fn));
  /** A write committed on its own before the call returns. */
  const immediate = <T>(what: string, fn: () => T): T => guard(what, () => commits.now(fn));
  const guard = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof GotongError) throw cause;
      throw storageFailed(what, cause);
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
    deleteRunning.run(receipt.requestId);
  });
  const reserveRequest = db.transaction((requestId: Hex, channelId: Hex): boolean => {
    if (selectReceipt.get(requestId) !== undefined) return false;
    return insertRunning.run(requestId, channelId, Date.now()).changes === 1;
  });
  // Nested transactions are savepoints: one commit for the id, the check and the voucher together.
  const admitRequest = db.transaction(<T>(requestId: Hex, voucher: SignedVoucher, check: () => T): { admitted: true; value: T } | { admitted: false } => {
    if (!reserveRequest(requestId, voucher.channelId)) return { admitted: false };
    const value = check();
    acceptVoucher(voucher);
    return { admitted: true, value };
  });

  return {
    /** The state of a channel in an epoch (zero owed and no voucher when new). */
    getChannel(channelId: Hex, epoch: bigint): ChannelState {
      const row = selectChannel.get(channelId, epoch.toString()) as Row | undefined;
      return row ? toState(row) : { channelId, epoch, owed: 0n, voucher: undefined, redeemed: 0n };
    },
    /** Keeps `voucher` when it beats the one held (durable once `durable()` resolves); returns whether it was newer. */
    acceptVoucher(voucher: SignedVoucher): boolean {
      return batched("a voucher", () => acceptVoucher(voucher));
    },
    /**
     * Keeps a served request's receipt and makes its `cumulativeOwed` what the channel owes, in one
     * transaction (durable once `durable()` resolves: hand the receipt out only then). The receipt
     * was signed over what was owed before plus its cost, read in the same turn.
     */
    recordServed(epoch: bigint, receipt: SignedReceipt): void {
      batched("a receipt", () => recordServed(epoch, receipt));
    },
    /**
     * Takes a request id for a request about to run (durable once `durable()` resolves, before its
     * first token); false when the id was used before (served, or running now), so a replayed
     * request is never generated twice.
     */
    reserveRequest(requestId: Hex, channelId: Hex): boolean {
      return batched("a request id", () => reserveRequest(requestId, channelId));
    },
    /**
     * Admits a request on a voucher in one transaction, itself in the turn's shared commit (await
     * `durable()` before serving it): takes the request id as `reserveRequest` does, runs `check` (the admission
     * rule, which throws to refuse), and keeps the voucher as `acceptVoucher` does. A refusal by
     * `check` leaves nothing written, the id included. `admitted: false` when the id was used before
     * (then `check` did not run: a replay is told so whatever else is wrong with it).
     */
    admitRequest<T>(requestId: Hex, voucher: SignedVoucher, check: () => T): { admitted: true; value: T } | { admitted: false } {
      // What `check` throws is its refusal, passed on as it is; only the database's own failures are storage_failed.
      let refusal: { error: unknown } | undefined;
      const rule = () => {
        try {
          return check();
        } catch (error) {
          refusal = { error };
          throw error;
        }
      };
      try {
        return batched("a request and its voucher", () => admitRequest(requestId, voucher, rule) as { admitted: true; value: T } | { admitted: false });
      } catch (error) {
        throw refusal ? refusal.error : error;
      }
    },
    /** Gives up a reserved id whose request ended without a receipt (it failed before billing). */
    releaseRequest(requestId: Hex): void {
      batched("a request id", () => deleteRunning.run(requestId));
    },
    /**
     * Resolves once every write made so far is on disk; rejects (storage_failed) when their shared
     * commit failed, and then none of them was kept. Call it in the same turn as the write.
     */
    durable(): Promise<void> {
      return commits.durable();
    },
    /** Whether a request with this id is running now (its receipt is not written yet). */
    isRunning(requestId: Hex): boolean {
      return selectRunning.get(requestId) !== undefined;
    },
    getReceipt(requestId: Hex): SignedReceipt | undefined {
      const row = selectReceipt.get(requestId) as { receipt: string } | undefined;
      return row ? receiptFromJson(JSON.parse(row.receipt)) : undefined;
    },
    /** Records what the chain says has been redeemed on a channel. */
    setRedeemed(channelId: Hex, epoch: bigint, redeemed: bigint): void {
      immediate("a redemption", () => updateRedeemed.run(redeemed.toString(), Date.now(), channelId, epoch.toString()));
    },
    /** Channels holding a voucher worth more than what has been redeemed. */
    unredeemed(): ChannelState[] {
      return (selectAll.all() as Row[]).map(toState).filter((s) => s.voucher && s.voucher.cumulativeAmount > s.redeemed);
    },
    // ---- redeem quarantine and in-flight redeems (createRedeemer)
    /**
     * Holds back a voucher the chain would not pay. Holding back the same amount again counts one
     * more attempt; a different amount starts over.
     */
    quarantineVoucher(entry: { channelId: Hex; epoch: bigint; cumulativeAmount: bigint; reason: string; permanent: boolean; retryAt: number | undefined }): QuarantinedVoucher {
      return immediate("a quarantined voucher", () => {
        upsertQuarantine.run(entry.channelId, entry.epoch.toString(), entry.cumulativeAmount.toString(), entry.reason, entry.permanent ? 1 : 0, Date.now(), entry.retryAt ?? null);
        return toQuarantined(selectQuarantine.get(entry.channelId, entry.epoch.toString()) as QuarantineRow);
      });
    },
    /** The voucher held back on a channel epoch, if any. */
    getQuarantine(channelId: Hex, epoch: bigint): QuarantinedVoucher | undefined {
      const row = selectQuarantine.get(channelId, epoch.toString()) as QuarantineRow | undefined;
      return row ? toQuarantined(row) : undefined;
    },
    /** Every voucher held back, oldest first. */
    quarantined(): QuarantinedVoucher[] {
      return (selectAllQuarantine.all() as QuarantineRow[]).map(toQuarantined);
    },
    /** Lets a channel epoch's vouchers be redeemed again (it paid, or nothing is owed on it any more). */
    releaseQuarantine(channelId: Hex, epoch: bigint): void {
      immediate("a released voucher", () => deleteQuarantine.run(channelId, epoch.toString()));
    },
    /** Records a signed redeem transaction before it is broadcast. */
    addInFlightRedeem(tx: InFlightRedeem): void {
      const vouchers = JSON.stringify(tx.vouchers.map((v) => ({ channelId: v.channelId, epoch: v.epoch.toString(), cumulativeAmount: v.cumulativeAmount.toString() })));
      immediate("a redeem transaction", () => insertInFlight.run(tx.hash, tx.raw, tx.nonce, vouchers, tx.createdAt));
    },
    /** Redeem transactions signed and not yet seen mined, by nonce. */
    inFlightRedeems(): InFlightRedeem[] {
      return (selectInFlight.all() as InFlightRow[]).map(toInFlight);
    },
    /** Forgets a redeem transaction once it is mined (or can never be). */
    removeInFlightRedeem(hash: Hex): void {
      immediate("a redeem transaction", () => deleteInFlight.run(hash));
    },
    // ---- end redeem quarantine
    /**
     * Keeps the latest voucher of an x402 batch-settlement channel (keyed by its lowercase id), in
     * the turn's shared commit: await `durable()` before serving on it.
     */
    holdBatchVoucher(v: StoredBatchVoucher): void {
      batched("a batch-settlement voucher", () => putBatchVoucher.run(v.channelId.toLowerCase(), v.config, v.maxClaimableAmount.toString(), v.signature, v.modelId.toString(), v.claimed.toString(), Date.now()));
    },
    /** Records what the chain has claimed on a batch-settlement channel. */
    setBatchClaimed(channelId: Hex, claimed: bigint): void {
      immediate("a batch-settlement claim", () => setBatchClaimed.run(claimed.toString(), Date.now(), channelId.toLowerCase()));
    },
    /** Every batch-settlement channel's latest voucher. */
    batchVouchers(): StoredBatchVoucher[] {
      return (selectBatchVouchers.all() as BatchRow[]).map(toBatchVoucher);
    },
    /** Throws unless the store can commit a write now (see checkDatabaseWritable): for readiness. */
    checkWritable(): void {
      commits.now(() => checkDatabaseWritable(db));
    },
    close(): void {
      commits.flush();
      db.close();
    },
  };
}

export type ProviderStore = ReturnType<typeof createProviderStore>;
