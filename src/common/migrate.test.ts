import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "./db.ts";
import { isGotongError } from "./errors.ts";
import { type Migration, migrate } from "./migrate.ts";
import { runNode } from "../../test/helpers/cli.ts";

const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), "gotong-migrate-"));
  dirs.push(dir);
  return join(dir, "store.db");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const versionOf = (db: Database.Database) => db.pragma("user_version", { simple: true }) as number;
const tables = (db: Database.Database) => (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
const columns = (db: Database.Database, table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected it to throw");
};
const options = (path: string) => ({ what: "toy store", path });

// A toy store in two versions. v1 keeps an amount in whole tokens as text; v2 keeps base units
// (18 decimals) in a new column, converts every row and drops nothing: a real data migration.
const v1: Migration = { version: 1, up: "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, tokens TEXT NOT NULL);" };
const v2: Migration = {
  version: 2,
  up(db) {
    db.exec("ALTER TABLE notes ADD COLUMN amount TEXT NOT NULL DEFAULT '0'");
    const rows = db.prepare("SELECT id, tokens FROM notes").all() as { id: string; tokens: string }[];
    const set = db.prepare("UPDATE notes SET amount = ? WHERE id = ?");
    for (const r of rows) set.run((BigInt(r.tokens) * 10n ** 18n).toString(), r.id);
  },
};

describe("migrate", () => {
  it("runs every migration in order on a new file and records the latest version", () => {
    const db = new Database(tempDb());
    const ran: number[] = [];
    const logged = (m: Migration): Migration => ({ version: m.version, up: (d) => (ran.push(m.version), typeof m.up === "string" ? d.exec(m.up) : m.up(d)) });
    expect(migrate(db, [logged(v1), logged(v2)], options("x"))).toBe(2);
    expect(ran).toEqual([1, 2]);
    expect(versionOf(db)).toBe(2);
    expect(columns(db, "notes")).toEqual(["id", "tokens", "amount"]);
    db.close();
  });

  it("brings a v1 file to v2 with its rows converted, and runs nothing on a file already at the latest", () => {
    const path = tempDb();
    const old = new Database(path);
    migrate(old, [v1], options(path));
    old.prepare("INSERT INTO notes VALUES ('a', '123456789'), ('b', '0')").run();
    old.close();

    const db = new Database(path);
    let ranV1 = 0;
    const countedV1: Migration = { version: 1, up: () => void ranV1++ };
    migrate(db, [countedV1, v2], options(path));
    expect(ranV1).toBe(0); // the file was at 1: only 2 ran
    expect(versionOf(db)).toBe(2);
    expect(db.prepare("SELECT id, tokens, amount FROM notes ORDER BY id").all()).toEqual([
      { id: "a", tokens: "123456789", amount: "123456789000000000000000000" },
      { id: "b", tokens: "0", amount: "0" },
    ]);
    const throwing: Migration[] = [v1, { version: 2, up: () => { throw new Error("ran again"); } }];
    expect(migrate(db, throwing, options(path))).toBe(2);
    db.close();
  });

  it("rolls a failing migration back whole: the file stays at the old version with all its data", () => {
    const path = tempDb();
    const db = new Database(path);
    migrate(db, [v1], options(path));
    db.prepare("INSERT INTO notes VALUES ('a', '7')").run();
    const broken: Migration = {
      version: 2,
      up(d) {
        // Some of the step succeeds before it fails: none of it may stay.
        d.exec("ALTER TABLE notes ADD COLUMN amount TEXT");
        d.exec("CREATE TABLE extra (x TEXT)");
        d.exec("DELETE FROM notes");
        d.exec("INSERT INTO no_such_table VALUES (1)");
      },
    };
    const error = thrown(() => migrate(db, [v1, broken], options(path)));
    expect(isGotongError(error, "store_migration_failed")).toBe(true);
    expect((error as Error).message).toBe(`Could not upgrade the toy store at ${path} from schema version 1 to 2: no such table: no_such_table`);
    expect((error as { hint: string }).hint).toMatch(/still at version 1/);
    expect(versionOf(db)).toBe(1);
    expect(tables(db)).toEqual(["notes"]);
    expect(columns(db, "notes")).toEqual(["id", "tokens"]);
    expect(db.prepare("SELECT * FROM notes").all()).toEqual([{ id: "a", tokens: "7" }]);
    // Fixed code then migrates the same file.
    migrate(db, [v1, v2], options(path));
    expect(db.prepare("SELECT amount FROM notes").get()).toEqual({ amount: "7000000000000000000" });
    db.close();
  });

  it("refuses a file written by a newer gotong, naming both versions, and changes nothing in it", () => {
    const path = tempDb();
    const newer = new Database(path);
    migrate(newer, [v1, v2, { version: 3, up: "CREATE TABLE three (x TEXT)" }], options(path));
    newer.prepare("INSERT INTO notes (id, tokens, amount) VALUES ('a', '1', '1000000000000000000')").run();
    newer.close();

    const error = thrown(() => openDatabase(path, { what: "toy store", migrations: [v1, v2] }));
    expect(isGotongError(error, "store_too_new")).toBe(true);
    expect((error as Error).message).toBe(`The toy store at ${path} is at schema version 3, written by a newer gotong; this one reads up to version 2`);
    expect((error as { hint: string }).hint).toMatch(/^Upgrade gotong/);
    const after = new Database(path);
    expect(versionOf(after)).toBe(3);
    expect(tables(after)).toEqual(["notes", "three"]);
    expect(after.prepare("SELECT * FROM notes").all()).toEqual([{ id: "a", tokens: "1", amount: "1000000000000000000" }]);
    after.close();
  });

  it("refuses a migration list that is not numbered 1, 2, 3, …", () => {
    const db = new Database(":memory:");
    expect(() => migrate(db, [v2], options(":memory:"))).toThrow(/numbered 2/);
    expect(() => migrate(db, [v1, v1], options(":memory:"))).toThrow(/Migration 2 of a store is numbered 1/);
    expect(() => migrate(db, [], options(":memory:"))).toThrow(/at least one migration/);
    expect(versionOf(db)).toBe(0);
    db.close();
  });

  it("applies each migration once when several processes open a new file at the same moment", async () => {
    const path = tempDb();
    // Each process waits for the same instant, then opens the file through openDatabase with the
    // toy v1 and v2; v2's ALTER TABLE fails if it runs twice, so a lost race would show.
    const script = join(dirs.at(-1)!, "open.ts");
    const at = Date.now() + 3_000; // after every process has started (tsx takes a second or so)
    writeFileSync(
      script,
      `import { openDatabase } from ${JSON.stringify(resolve(import.meta.dirname, "db.ts"))};
const v1 = { version: 1, up: ${JSON.stringify(v1.up)} };
const v2 = { version: 2, up: (db) => db.exec("ALTER TABLE notes ADD COLUMN amount TEXT NOT NULL DEFAULT '0'") };
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ${at} - Date.now()));
const db = openDatabase(${JSON.stringify(path)}, { what: "toy store", migrations: [v1, v2] });
process.stdout.write(String(db.pragma("user_version", { simple: true })));
db.close();
`,
    );
    const runs = await Promise.all(Array.from({ length: 3 }, () => runNode(["--import", "tsx", script])));
    for (const run of runs) expect(run).toMatchObject({ code: 0, stdout: "2" });
    const db = new Database(path);
    expect(columns(db, "notes")).toEqual(["id", "tokens", "amount"]);
    db.close();
  });
});
