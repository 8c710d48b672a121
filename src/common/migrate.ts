import type Database from "better-sqlite3";
import { GotongError } from "./errors.ts";

/**
 * One step of a store's schema: what turns a file at `version - 1` into one at `version`. SQL is
 * run with `exec`; a function is given the database for what SQL alone cannot say (a column added
 * only when it is missing). It runs inside its migration's transaction, so it must not commit or
 * change the journal mode (SQLite ignores or refuses those inside a transaction).
 */
export type Migration = { version: number; up: string | ((db: Database.Database) => void) };

/** What {@link migrate} is told about the store, for its errors. */
export type MigrateOptions = {
  /** What the file holds, e.g. `provider store`. */
  what: string;
  /** The file, for the errors. */
  path: string;
};

/**
 * Brings `db`'s schema to the latest of `migrations`, the schema version being SQLite's
 * `user_version` in the file's header (0 for a new file, and for files written before stores had
 * versions: a store's migration 1 re-creates today's tables only where they are missing, so those
 * files become version 1 with every row they hold). Each pending migration runs in one write
 * transaction with the version it sets, so a failed one leaves the file at the version before it,
 * and two processes opening the same file at once never apply one twice (the version is read again
 * under the write lock). A file written by a newer gotong is refused, never opened and changed.
 *
 * @param migrations Versions 1, 2, 3, … in order; the last is the version the code reads and writes.
 * @returns The version the file is at now (the latest).
 * @throws GotongError `store_too_new` when the file's version is above the latest migration;
 *   `store_migration_failed` when a migration fails (the file is left at the version before it).
 * @example migrate(db, [{ version: 1, up: "CREATE TABLE IF NOT EXISTS t (x TEXT)" }], { what: "provider store", path });
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], options: MigrateOptions): number {
  checkMigrations(migrations);
  const latest = migrations.length;
  const versionOf = () => db.pragma("user_version", { simple: true }) as number;
  const refuseNewer = (version: number) => {
    if (version > latest) throw tooNew(options, version, latest);
    // No gotong writes a negative version: the file belongs to something else.
    if (version < 0) throw new GotongError(`The ${options.what} at ${options.path} has schema version ${version}, which no gotong writes`, { code: "store_unknown_version", status: 500, hint: "Is it a gotong store? Move it away to start with a new one." });
  };
  // An up-to-date file (every open but the first after an upgrade) is only read: no write lock taken.
  let from = versionOf();
  refuseNewer(from);
  if (from === latest) return latest;
  const step = db.transaction((): boolean => {
    from = versionOf();
    refuseNewer(from);
    if (from === latest) return false;
    const next = migrations[from]!;
    if (typeof next.up === "string") db.exec(next.up);
    else next.up(db);
    db.pragma(`user_version = ${next.version}`);
    return true;
  });
  try {
    // BEGIN IMMEDIATE: the write lock is taken before the version is read again.
    while (step.immediate());
  } catch (cause) {
    if (cause instanceof GotongError) throw cause;
    throw new GotongError(
      `Could not upgrade the ${options.what} at ${options.path} from schema version ${from} to ${from + 1}: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        code: "store_migration_failed",
        status: 500,
        hint: `Nothing of this step was kept: the file is still at version ${from}, with all it held. Check that the disk is writable and not full, then start again.`,
        cause,
      },
    );
  }
  return latest;
}

/** A list that is not exactly 1, 2, 3, … is a bug in the store, caught on its first open. */
function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`Migration ${i + 1} of a store is numbered ${m.version}: migrations are numbered 1, 2, 3, … in order`);
  });
  if (migrations.length === 0) throw new Error("A store needs at least one migration (the one that creates its tables)");
}

function tooNew(options: MigrateOptions, version: number, latest: number): GotongError {
  return new GotongError(
    `The ${options.what} at ${options.path} is at schema version ${version}, written by a newer gotong; this one reads up to version ${latest}`,
    {
      code: "store_too_new",
      status: 500,
      hint: "Upgrade gotong to the version that wrote this store, or a later one. Nothing in the file was changed.",
    },
  );
}
