import type Database from "better-sqlite3";
import { GotongError } from "../../common/errors.ts";
import { hashApiKey, newApiKey } from "./apiKeySecret.ts";
import { keyPeriod } from "./keyPeriod.ts";

/** An API key as the gateway keeps it: never the key itself, only its hash. */
export type ApiKeyRecord = {
  id: string;
  name: string;
  /** Most it may spend per period, token base units. */
  budget: bigint;
  periodSeconds: number;
  /** Requests per rolling minute. */
  rpm: number;
  createdAt: number;
  revokedAt: number | undefined;
};

/** A key with what it has used in its current period. */
export type ApiKeyUsage = ApiKeyRecord & {
  periodStart: number;
  /** When the current period ends and the budget is whole again. */
  periodEnd: number;
  /** Settled this period: the costs of its accepted receipts. */
  spent: bigint;
  /** Held this period by requests in flight (their worst case), or cut and not yet settled. */
  reserved: bigint;
  /** Paid requests this period. */
  requests: number;
  /** Settled over the key's whole life. */
  totalSpent: bigint;
};

/** What {@link ApiKeyStore.create} is given. */
export type NewApiKey = { name?: string; budget: bigint; periodSeconds: number; rpm: number };

/**
 * The tables of the gateway's API keys, beside the gateway store's own tables in the same database
 * (created by the gateway store's migration 1, see createApiKeyTables).
 * - `api_keys`: one row per key, only its SHA-256; a revoked key keeps its row (and its usage).
 * - `api_key_usage`: what each key spent in each of its periods, in base units, as text (bigint).
 * - `api_key_reservations`: the worst-case cost of each provider request sent for a key whose
 *   receipt has not been dealt with; it lives exactly as long as the request's `pending` row.
 * - `receipts.key_id`: the key each receipt was paid for (null on a keyless gateway).
 */
const schema = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, budget TEXT NOT NULL,
  period_seconds INTEGER NOT NULL, rpm INTEGER NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS api_key_usage (
  key_id TEXT NOT NULL, period_start INTEGER NOT NULL, spent TEXT NOT NULL, requests INTEGER NOT NULL,
  PRIMARY KEY (key_id, period_start)
);
CREATE TABLE IF NOT EXISTS api_key_reservations (
  request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, period_start INTEGER NOT NULL, amount TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS api_key_reservations_by_key ON api_key_reservations (key_id, period_start);
`;

type KeyRow = { id: string; name: string; key_hash: string; budget: string; period_seconds: number; rpm: number; created_at: number; revoked_at: number | null };

const toRecord = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  name: r.name,
  budget: BigInt(r.budget),
  periodSeconds: r.period_seconds,
  rpm: r.rpm,
  createdAt: r.created_at,
  revokedAt: r.revoked_at ?? undefined,
});

const sum = (rows: { amount: string }[]) => rows.reduce((a, r) => a + BigInt(r.amount), 0n);

/** Refuses a key that the rest of the code could not honour. */
function checkNewKey(key: NewApiKey): void {
  if (key.budget <= 0n) throw new GotongError("--budget must be more than zero", { code: "invalid_arguments", hint: "An amount in tokens, e.g. --budget 5" });
  if (!Number.isSafeInteger(key.periodSeconds) || key.periodSeconds < 60) {
    throw new GotongError(`--period must be at least a minute, not ${key.periodSeconds} s`, { code: "invalid_arguments", hint: "e.g. --period 1d" });
  }
  if (!Number.isSafeInteger(key.rpm) || key.rpm < 1) throw new GotongError("--rpm must be at least 1", { code: "invalid_arguments" });
  if (key.name !== undefined && (key.name.length > 100 || !key.name.trim())) throw new GotongError("--name must be 1 to 100 characters", { code: "invalid_arguments" });
}

/**
 * Creates the API-key tables where they are missing and adds `receipts.key_id` to a receipts table
 * without it: part of the gateway store's migration 1 (createGatewayStore), idempotent like the rest
 * of it, so a store written before keys existed, or before stores had versions, keeps all it holds.
 */
export function createApiKeyTables(db: Database.Database): void {
  db.exec(schema);
  const receiptColumns = new Set((db.prepare("PRAGMA table_info(receipts)").all() as { name: string }[]).map((c) => c.name));
  if (!receiptColumns.has("key_id")) db.exec("ALTER TABLE receipts ADD COLUMN key_id TEXT");
  db.exec("CREATE INDEX IF NOT EXISTS receipts_by_key ON receipts (key_id, created_at)");
}

/**
 * The API keys of a gateway, in its SQLite store: issued by the CLI, read by the running gateway on
 * every request (so a key created or revoked is in force at once, without a restart), and charged
 * through reservations that make a key's budget hold under any number of concurrent requests.
 *
 * @param db The gateway store's database (see createGatewayStore), its schema migrated.
 */
export function createApiKeyStore(db: Database.Database) {
  const insertKey = db.prepare("INSERT INTO api_keys (id, name, key_hash, budget, period_seconds, rpm, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const getKey = db.prepare("SELECT * FROM api_keys WHERE id = ?");
  const keyByHash = db.prepare("SELECT * FROM api_keys WHERE key_hash = ?");
  const allKeys = db.prepare("SELECT * FROM api_keys ORDER BY created_at, id");
  const revokeKey = db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  const usageIn = db.prepare("SELECT spent, requests FROM api_key_usage WHERE key_id = ? AND period_start = ?");
  const allUsage = db.prepare("SELECT spent AS amount FROM api_key_usage WHERE key_id = ?");
  const addUsage = db.prepare(
    `INSERT INTO api_key_usage (key_id, period_start, spent, requests) VALUES (?, ?, ?, 1)
     ON CONFLICT(key_id, period_start) DO UPDATE SET spent = ?, requests = requests + 1`,
  );
  const reservedIn = db.prepare("SELECT amount FROM api_key_reservations WHERE key_id = ? AND period_start = ?");
  const getReservation = db.prepare("SELECT key_id, period_start, amount FROM api_key_reservations WHERE request_id = ?");
  const putReservation = db.prepare("INSERT INTO api_key_reservations (request_id, key_id, period_start, amount, created_at) VALUES (?, ?, ?, ?, ?)");
  const deleteReservation = db.prepare("DELETE FROM api_key_reservations WHERE request_id = ?");

  function usageOf(record: ApiKeyRecord, now: number): ApiKeyUsage {
    const period = keyPeriod(record.createdAt, record.periodSeconds, now);
    const used = usageIn.get(record.id, period.start) as { spent: string; requests: number } | undefined;
    return {
      ...record,
      periodStart: period.start,
      periodEnd: period.end,
      spent: BigInt(used?.spent ?? "0"),
      reserved: sum(reservedIn.all(record.id, period.start) as { amount: string }[]),
      requests: used?.requests ?? 0,
      totalSpent: sum(allUsage.all(record.id) as { amount: string }[]),
    };
  }

  // Check and hold in one write transaction (BEGIN IMMEDIATE): concurrent requests, in this process
  // or another, each see the holds of those before them.
  const reserve = db.transaction((keyId: string, requestId: string, amount: bigint, now: number): ApiKeyUsage => {
    const row = getKey.get(keyId) as KeyRow | undefined;
    if (!row || row.revoked_at !== null) throw keyRevoked(keyId);
    const usage = usageOf(toRecord(row), now);
    if (usage.spent + usage.reserved + amount > usage.budget) throw new BudgetExceeded(usage, amount);
    putReservation.run(requestId, keyId, usage.periodStart, amount.toString(), now);
    return usage;
  });

  return {
    /**
     * Issues a key: returns the key itself (to show once; it is not kept) and its record.
     * @throws GotongError `invalid_arguments` for a budget, period or rpm that cannot be honoured.
     */
    create(key: NewApiKey, now = Date.now()): { key: string; record: ApiKeyRecord } {
      checkNewKey(key);
      const issued = newApiKey();
      const name = key.name?.trim() ?? issued.id;
      insertKey.run(issued.id, name, hashApiKey(issued.key), key.budget.toString(), key.periodSeconds, key.rpm, now);
      return { key: issued.key, record: toRecord(getKey.get(issued.id) as KeyRow) };
    },
    /** The key with this id, revoked or not. */
    get(id: string): ApiKeyRecord | undefined {
      const row = getKey.get(id) as KeyRow | undefined;
      return row ? toRecord(row) : undefined;
    },
    /** The key whose hash is `keyHash`, with the hash as stored (for a constant-time comparison). */
    findByHash(keyHash: string): (ApiKeyRecord & { keyHash: string }) | undefined {
      const row = keyByHash.get(keyHash) as KeyRow | undefined;
      return row ? { ...toRecord(row), keyHash: row.key_hash } : undefined;
    },
    /** Every key with its current period's usage, oldest first. */
    list(now = Date.now()): ApiKeyUsage[] {
      return (allKeys.all() as KeyRow[]).map((r) => usageOf(toRecord(r), now));
    },
    /** One key's current usage. */
    usage(id: string, now = Date.now()): ApiKeyUsage | undefined {
      const row = getKey.get(id) as KeyRow | undefined;
      return row ? usageOf(toRecord(row), now) : undefined;
    },
    /**
     * Revokes a key: every request with it is refused from now on (requests already sent finish
     * and are charged to it). Revoking a revoked key changes nothing.
     * @throws GotongError `api_key_not_found`.
     */
    revoke(id: string, now = Date.now()): ApiKeyRecord {
      revokeKey.run(now, id);
      const row = getKey.get(id) as KeyRow | undefined;
      if (!row) throw new GotongError(`No API key ${id}`, { code: "api_key_not_found", status: 404, hint: "`gotong gateway key list` shows the keys." });
      return toRecord(row);
    },
    /**
     * Holds `amount` (a request's worst-case cost) of the key's current budget for provider request
     * `requestId`, unless what is spent and held already leaves less than that.
     * @throws BudgetExceeded when it does not fit; GotongError `invalid_api_key` for a revoked key.
     */
    reserve(keyId: string, requestId: string, amount: bigint, now = Date.now()): ApiKeyUsage {
      return reserve.immediate(keyId, requestId, amount, now);
    },
    /** The key that provider request `requestId` was sent for, if any. */
    reservedBy(requestId: string): string | undefined {
      return (getReservation.get(requestId) as { key_id: string } | undefined)?.key_id;
    },
    /**
     * Turns a request's hold into what its receipt cost, charged to the period it was sent in.
     * Runs inside the transaction that records the receipt (createGatewayStore's addReceipt), so a
     * receipt is charged to its key exactly once.
     */
    settle(requestId: string, cost: bigint): string | undefined {
      const held = getReservation.get(requestId) as { key_id: string; period_start: number } | undefined;
      if (!held) return undefined;
      const used = usageIn.get(held.key_id, held.period_start) as { spent: string } | undefined;
      const spent = (BigInt(used?.spent ?? "0") + cost).toString();
      addUsage.run(held.key_id, held.period_start, spent, spent);
      deleteReservation.run(requestId);
      return held.key_id;
    },
    /** Lets go of a request's hold: it was never served, or its receipt was refused (nothing paid). */
    release(requestId: string): void {
      deleteReservation.run(requestId);
    },
  };
}

export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;

/** The error for a revoked (or deleted) key: the same 401 as a wrong one, saying why. */
export function keyRevoked(id: string): GotongError {
  return new GotongError(`The API key ${id} was revoked`, {
    code: "invalid_api_key",
    status: 401,
    type: "invalid_request_error",
    hint: "Ask the gateway's operator for a new key.",
  });
}

/** A request's worst case does not fit in what is left of its key's budget this period. */
export class BudgetExceeded extends Error {
  constructor(
    readonly usage: ApiKeyUsage,
    readonly amount: bigint,
  ) {
    super(`API key ${usage.id}: ${usage.spent} spent and ${usage.reserved} held of ${usage.budget}, ${amount} more does not fit`);
    this.name = "BudgetExceeded";
  }
}
