import Database from "better-sqlite3";
import { GotongError } from "./errors.ts";
import { type Migration, migrate } from "./migrate.ts";

/**
 * Opens a SQLite database for money state and brings its schema to the latest of `migrations` (see
 * migrate). WAL with `synchronous = FULL` makes every commit durable before it returns, so a
 * voucher acknowledged is a voucher on disk, even after SIGKILL or power loss. The stores' request
 * writes go through a group commit instead (createGroupCommit), durable once its promise resolves.
 *
 * @param store What the file holds (`provider store`), for errors, and its schema's migrations.
 * @throws GotongError `database_unavailable`, `store_too_new` (written by a newer gotong),
 *   `store_migration_failed`.
 */
export function openDatabase(path: string, store: { what: string; migrations: readonly Migration[] }): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (cause) {
    throw new GotongError(`Cannot open the database at ${path}`, {
      code: "database_unavailable",
      hint: "Check that GOTONG_HOME is writable and the disk is not full.",
      status: 503,
      cause,
    });
  }
  db.pragma("busy_timeout = 5000");
  enterWalMode(db, path);
  db.pragma("synchronous = FULL");
  try {
    migrate(db, store.migrations, { what: store.what, path });
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Switches the file to WAL. Two processes opening a new file at the same moment (`gotong up` and a
 * CLI command, say) race for the lock this takes, and SQLite answers the loser "database is
 * locked" at once, without waiting on busy_timeout: so the loser waits and tries again, for as long
 * as busy_timeout would have waited.
 */
function enterWalMode(db: Database.Database, path: string): void {
  const deadline = Date.now() + 5_000;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() >= deadline) {
        db.close();
        throw new GotongError(`Cannot open the database at ${path}: ${(error as Error).message}`, {
          code: "database_unavailable",
          hint: "Another process held the file for more than 5 s. Check that no other gotong process is stuck on it.",
          status: 503,
          cause: error,
        });
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
}
