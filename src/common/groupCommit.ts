import * as fs from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";

/** One transaction shared by the writes of one event-loop turn, and the promise of its being on disk. */
type Batch = { committed: Promise<void>; resolve: () => void; reject: (error: unknown) => void };

export type GroupCommit = {
  /**
   * Runs `write` inside the open batch, opening one (BEGIN IMMEDIATE) if there is none; the batch
   * commits once the current turn's I/O callbacks have run. A `db.transaction` function called
   * inside becomes a savepoint, so it still rolls back alone when it throws.
   */
  write<T>(write: () => T): T;
  /**
   * Commits the open batch first, then runs `write` on its own durable commit (`synchronous =
   * FULL`, the disk flushed before it returns): for the rare writes whose caller acts on them at
   * once (a transaction recorded before it is broadcast).
   */
  now<T>(write: () => T): T;
  /**
   * Resolves once every write made so far is on disk; rejects when their batch failed to commit (it
   * was rolled back whole) or to reach the disk. Call it in the same turn as the write it waits for.
   */
  durable(): Promise<void>;
  /** Commits the open batch now, if there is one (its flush to disk follows, off the event loop). */
  flush(): void;
};

export type GroupCommitOptions = {
  /** Flushes a file's data to disk (fs.fdatasync); replaceable in tests to fail like a broken disk. */
  fdatasync?: (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => void;
};

/**
 * Group commit for a SQLite connection in WAL mode whose commits must be durable (`synchronous =
 * FULL`: a disk flush per commit, which would hold the event loop for milliseconds each). The
 * writes made in one turn of the event loop share one transaction, committed by a `setImmediate`
 * after the turn's I/O callbacks. The batch commits at `synchronous = NORMAL` (SQLite writes its
 * frames to the WAL file, no flush: already safe from a killed process) and the WAL file is then
 * flushed with `fdatasync` on libuv's thread pool, which is what FULL would have done after the
 * commit, but without holding the event loop; batches that commit while a flush runs share the
 * next one. A thousand requests arriving together thus pay for a few flushes, none of them on the
 * event loop. Reads on the same connection see a batch's writes at once, so a rule that reads and
 * writes in one synchronous step (what a channel owes, the next receipt's total) holds exactly as
 * with a commit per write.
 *
 * What changes is when a write is durable: a caller that must not act before its write is on disk
 * (serving on a voucher, handing out a receipt) awaits `durable()`. If the commit fails, the batch
 * is rolled back whole and every caller waiting on it is refused: none of them has acted yet. If a
 * flush fails, the disk can no longer be trusted with what it was given: the batches it covered
 * are refused, and so is every write after it (the process must be restarted), as SQLite itself
 * treats an I/O error. Writes outside a batch (`now`, and any other on the connection) keep FULL.
 *
 * Only this connection may write the file while a batch is open: another connection in the same
 * process would wait on the lock while holding the very event loop that commits it.
 *
 * @param failure Turns a failed commit or flush into the error the waiting callers get.
 * @example const commits = createGroupCommit(db, (cause) => new GotongError("...", { cause }));
 * commits.write(() => insert.run(id)); await commits.durable();
 */
export function createGroupCommit(db: Database.Database, failure: (cause: unknown) => Error, options: GroupCommitOptions = {}): GroupCommit {
  const fdatasync = options.fdatasync ?? fs.fdatasync;
  // An in-memory or non-WAL database has no WAL file to flush: its commits stay as they are.
  const walPath = db.memory || String(db.pragma("journal_mode", { simple: true })).toLowerCase() !== "wal" ? undefined : `${db.name}-wal`;
  let open: Batch | undefined;
  /** Batches committed and waiting for the next flush of the WAL file. */
  let unflushed: Batch[] = [];
  let flushing = false;
  /** The batches the flush now running covers. */
  let inFlight: Batch[] = [];
  /** A flush that failed: nothing written since can be trusted to reach the disk. */
  let broken: unknown;
  let wal: { fd: number; ino: number } | undefined;

  /** The WAL file, opened once (and again if SQLite ever replaced it), its directory entry flushed once. */
  const walFile = (): number => {
    const ino = fs.statSync(walPath!).ino;
    if (wal?.ino === ino) return wal.fd;
    if (wal) fs.closeSync(wal.fd);
    const fd = fs.openSync(walPath!, "r");
    const dir = fs.openSync(dirname(walPath!), "r");
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
    wal = { fd, ino };
    return fd;
  };

  const flushWal = () => {
    if (flushing || unflushed.length === 0) return;
    const covered = unflushed;
    unflushed = [];
    inFlight = covered;
    const done = (error: unknown) => {
      flushing = false;
      inFlight = [];
      if (error) {
        broken ??= error;
        for (const batch of covered) batch.reject(failure(error));
      } else {
        for (const batch of covered) batch.resolve();
      }
      flushWal();
    };
    if (broken) return done(broken);
    flushing = true;
    let fd: number;
    try {
      fd = walFile();
    } catch (error) {
      return done(error);
    }
    fdatasync(fd, done);
  };

  const fail = (batch: Batch, cause: unknown) => {
    if (open === batch) open = undefined;
    if (db.inTransaction) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // Already rolled back by SQLite (a full disk, an I/O error): nothing of the batch is kept either way.
      }
    }
    if (walPath) db.pragma("synchronous = FULL");
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
    if (!walPath) return batch.resolve();
    db.pragma("synchronous = FULL");
    unflushed.push(batch);
    flushWal();
  };

  const begin = (): Batch => {
    if (broken) throw failure(broken);
    // NORMAL for the batch's own commit only: its flush to disk is done off the event loop (above).
    if (walPath) db.pragma("synchronous = NORMAL");
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      if (walPath) db.pragma("synchronous = FULL");
      throw error;
    }
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
      if (broken) throw failure(broken);
      return write();
    },
    durable() {
      // The newest batch: flushes run in order, so it is on disk only once every earlier one is.
      const last = open ?? unflushed.at(-1) ?? inFlight.at(-1);
      return last ? last.committed : Promise.resolve();
    },
    flush,
  };
}
