import type Database from "better-sqlite3";

/** One transaction shared by the writes of one event-loop turn, and the promise of its commit. */
type Batch = { committed: Promise<void>; resolve: () => void; reject: (error: unknown) => void };

export type GroupCommit = {
  /**
   * Runs `write` inside the open batch, opening one (BEGIN IMMEDIATE) if there is none; the batch
   * commits once the current turn's I/O callbacks have run. A `db.transaction` function called
   * inside becomes a savepoint, so it still rolls back alone when it throws.
   */
  write<T>(write: () => T): T;
  /**
   * Commits the open batch first, then runs `write` on its own commit: for the rare writes whose
   * caller acts on them before the next turn (a transaction recorded before it is broadcast).
   */
  now<T>(write: () => T): T;
  /**
   * Resolves once every write made so far is on disk; rejects when their batch failed to commit (it
   * was rolled back whole). Call it in the same turn as the write it waits for.
   */
  durable(): Promise<void>;
  /** Commits the open batch now, if there is one. */
  flush(): void;
};

/**
 * Group commit for a SQLite connection whose every commit is a disk flush (`synchronous = FULL`),
 * which holds the event loop while it lasts. The writes made in one turn of the event loop share one
 * transaction, committed by a `setImmediate` after the turn's I/O callbacks: a thousand requests
 * arriving together pay for a few flushes instead of a thousand, and the batch grows by itself
 * while a flush holds the loop. Reads on the same connection see the batch's writes at once, so a
 * rule that reads and writes in one synchronous step (what a channel owes, the next receipt's
 * total) holds exactly as with a commit per write.
 *
 * What changes is when a write is durable: a caller that must not act before its write is on disk
 * (serving on a voucher, handing out a receipt) awaits `durable()`. If the commit fails, the batch
 * is rolled back whole and every caller waiting on it is refused: none of them has acted yet.
 *
 * Only this connection may write the file while a batch is open: another connection in the same
 * process would wait on the lock while holding the very event loop that commits it.
 *
 * @param failure Turns a failed commit into the error the waiting callers get.
 * @example const commits = createGroupCommit(db, (cause) => new GotongError("...", { cause }));
 * commits.write(() => insert.run(id)); await commits.durable();
 */
export function createGroupCommit(db: Database.Database, failure: (cause: unknown) => Error): GroupCommit {
  let open: Batch | undefined;

  const fail = (batch: Batch, cause: unknown) => {
    if (open === batch) open = undefined;
    if (db.inTransaction) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // Already rolled back by SQLite (a full disk, an I/O error): nothing of the batch is kept either way.
      }
    }
    batch.reject(failure(cause));
  };

  const flush = () => {
    const batch = open;
    if (!batch) return;
    open = undefined;
    // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR): then
    // the batch's writes are gone, and its callers must hear so rather than a COMMIT's "no transaction".
    if (!db.inTransaction) return fail(batch, new Error("SQLite rolled the batch back after an error"));
    try {
      db.exec("COMMIT");
    } catch (cause) {
      return fail(batch, cause);
    }
    batch.resolve();
  };

  const begin = (): Batch => {
    db.exec("BEGIN IMMEDIATE");
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const committed = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A failed batch nobody waits on (its writes needed no durability) must not crash the process.
    committed.catch(() => undefined);
    setImmediate(flush);
    return { committed, resolve, reject };
  };

  return {
    write(write) {
      if (open && !db.inTransaction) fail(open, new Error("SQLite rolled the batch back after an error"));
      // Inside someone else's synchronous transaction (a migration, say): its commit covers this write.
      if (!open && db.inTransaction) return write();
      open ??= begin();
      const batch = open;
      try {
        return write();
      } finally {
        if (!db.inTransaction && open === batch) fail(batch, new Error("SQLite rolled the batch back after an error"));
      }
    },
    now(write) {
      flush();
      return write();
    },
    durable() {
      return open ? open.committed : Promise.resolve();
    },
    flush,
  };
}
