import Database from "better-sqlite3";
import { GotongError } from "./errors.ts";

/**
 * Opens a SQLite database for money state. WAL with `synchronous = FULL` makes every commit durable
 * before it returns, so a voucher acknowledged is a voucher on disk, even after SIGKILL or power loss.
 */
export function openDatabase(path: string, schema: string): Database.Database {
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
  db.exec(schema);
  return db;
}
