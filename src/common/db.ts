import Database from "better-sqlite3";
import { GotongError } from "./errors.ts";
import { type Migration, migrate } from "./migrate.ts";

/**
 * Opens a SQLite database for money state and brings its schema to the latest of `migrations` (see
 * migrate). WAL with `synchronous = FULL` makes every commit durable before it returns, so a
 * voucher acknowledged is a voucher on disk, even after SIGKILL or power loss.
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
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  try {
    migrate(db, store.migrations, { what: store.what, path });
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
