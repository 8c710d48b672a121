import type Database from "better-sqlite3";
import { GotongError } from "./errors.ts";

/** SQLite's application id for Gotong's stores ("GTNG"), in the file header. */
const GOTONG_APPLICATION_ID = 0x47544e47;

/**
 * Throws unless `db` can commit a write now: it commits the (unchanging) application id into the
 * file's header, a real durable write of one page, so a closed connection, a read-only file or a
 * full disk all fail here as they would for the next voucher or receipt.
 *
 * @example checkDatabaseWritable(db); // throws a 503 GotongError (database_unavailable) when not
 */
export function checkDatabaseWritable(db: Database.Database): void {
  try {
    db.pragma(`application_id = ${GOTONG_APPLICATION_ID}`);
  } catch (cause) {
    throw new GotongError(`The store cannot be written: ${cause instanceof Error ? cause.message : String(cause)}`, {
      code: "database_unavailable",
      status: 503,
      retryable: true,
      hint: "Check that GOTONG_HOME is writable and the disk is not full.",
      cause,
    });
  }
}
