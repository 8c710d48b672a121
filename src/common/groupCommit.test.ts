import { fdatasync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createGroupCommit } from "./groupCommit.ts";

describe("group commit", () => {
  let dir: string;
  let db: Database.Database;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gotong-group-commit-"));
    path = join(dir, "store.db");
    db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What another process reading the file would see: only what is committed. */
  const onDisk = () => {
    const reader = new Database(path, { readonly: true });
    try {
      return (reader.prepare("SELECT id FROM t ORDER BY id").all() as { id: number }[]).map((r) => r.id);
    } finally {
      reader.close();
    }
  };
  const failure = (cause: unknown) => Object.assign(new Error("commit failed"), { cause });

  it("commits the writes of one turn together, after the turn, and seen at once on the same connection", async () => {
    const commits = createGroupCommit(db, failure);
    const insert = db.prepare("INSERT INTO t (id, v) VALUES (?, 'x')");
    for (let id = 1; id <= 50; id++) commits.write(() => insert.run(id));
    // Same connection: the batch is visible to the rules that read it in the same turn.
    expect((db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n).toBe(50);
    expect(onDisk()).toEqual([]);
    expect(db.inTransaction).toBe(true);
    await commits.durable();
    expect(db.inTransaction).toBe(false);
    expect(onDisk()).toHaveLength(50);
    // The next turn's writes are a new batch.
    commits.write(() => insert.run(51));
    await commits.durable();
    expect(onDisk()).toHaveLength(51);
  });

  it("a write that throws rolls back alone (a savepoint); the rest of the batch is kept", async () => {
    const commits = createGroupCommit(db, failure);
    const insert = db.prepare("INSERT INTO t (id, v) VALUES (?, 'x')");
    const twoThenFail = db.transaction(() => {
      insert.run(2);
      insert.run(1); // a duplicate key: the whole transaction function rolls back
    });
    commits.write(() => insert.run(1));
    expect(() => commits.write(() => twoThenFail())).toThrow(/UNIQUE/);
    commits.write(() => insert.run(3));
    await commits.durable();
    expect(onDisk()).toEqual([1, 3]);
  });

  it("a failed commit rolls the whole batch back and rejects every waiter with the given error", async () => {
    const commits = createGroupCommit(db, failure);
    const insert = db.prepare("INSERT INTO t (id, v) VALUES (?, ?)");
    // A deferred check fails at COMMIT, as a full disk would fail the flush.
    db.exec("CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
    db.pragma("foreign_keys = ON");
    commits.write(() => insert.run(1, "a"));
    const first = commits.durable();
    commits.write(() => db.prepare("INSERT INTO child (pid) VALUES (7)").run());
    const second = commits.durable();
    await expect(first).rejects.toThrow("commit failed");
    await expect(second).rejects.toThrow("commit failed");
    expect(db.inTransaction).toBe(false);
    expect(onDisk()).toEqual([]);
    expect(db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 0 });
    // The store goes on: the next batch commits.
    commits.write(() => insert.run(2, "b"));
    await commits.durable();
    expect(onDisk()).toEqual([2]);
  });

  it("now() commits the open batch first, then its own write before returning", () => {
    const commits = createGroupCommit(db, failure);
    const insert = db.prepare("INSERT INTO t (id, v) VALUES (?, 'x')");
    commits.write(() => insert.run(1));
    commits.now(() => insert.run(2));
    expect(db.inTransaction).toBe(false);
    expect(onDisk()).toEqual([1, 2]);
  });

  it("durable() with nothing written resolves at once, and a batch nobody waits on that fails does not crash the process", async () => {
    const commits = createGroupCommit(db, failure);
    await commits.durable();
    db.exec("CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
    db.pragma("foreign_keys = ON");
    commits.write(() => db.prepare("INSERT INTO child (pid) VALUES (7)").run());
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(db.inTransaction).toBe(false);
  });

  it("a write inside someone else's transaction joins it instead of opening a batch", async () => {
    const commits = createGroupCommit(db, failure);
    const insert = db.prepare("INSERT INTO t (id, v) VALUES (?, 'x')");
    db.transaction(() => {
      commits.write(() => insert.run(1));
    })();
    expect(db.inTransaction).toBe(false);
    expect(onDisk()).toEqual([1]);
    await commits.durable();
  });

  it("commits a batch at NORMAL and flushes the WAL file off the event loop before durable() resolves; FULL outside batches", async () => {
    const flushes: number[] = [];
    const commits = createGroupCommit(db, failure, { fdatasync: (fd, done) => (flushes.push(fd), fdatasync(fd, done)) });
    const insert = db.prepare("INSERT INTO t (id, v) VALUES (?, 'x')");
    commits.write(() => insert.run(1));
    expect(db.pragma("synchronous", { simple: true })).toBe(1); // NORMAL while the batch is open
    const durable = commits.durable();
    await durable;
    expect(flushes).toHaveLength(1);
    expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL again for every other write
    expect(onDisk()).toEqual([1]);
  });

  it("batches that commit while a flush runs share the next flush, and each waiter hears only when its batch is flushed", async () => {
    const held: (() => void)[] = [];
    const commits = createGroupCommit(db, failure, { fdatasync: (fd, done) => held.push(() => fdatasync(fd, done)) });
    const insert = db.prepare("INSERT INTO t (id, v) VALUES (?, 'x')");
    const done: number[] = [];
    commits.write(() => insert.run(1));
    void commits.durable().then(() => done.push(1));
    await new Promise((resolve) => setImmediate(resolve)); // batch 1 committed, its flush held
    for (const id of [2, 3]) {
      commits.write(() => insert.run(id));
      void commits.durable().then(() => done.push(id));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(held).toHaveLength(1);
    expect(done).toEqual([]);
    held.shift()!();
    await expect.poll(() => held.length).toBe(1); // one flush for batches 2 and 3
    expect(done).toEqual([1]);
    held.shift()!();
    await expect.poll(() => done).toEqual([1, 2, 3]);
  });

  it("a failed flush refuses the batches it covered and every write after it", async () => {
    const commits = createGroupCommit(db, failure, { fdatasync: (_fd, done) => done(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" })) });
    const insert = db.prepare("INSERT INTO t (id, v) VALUES (?, 'x')");
    commits.write(() => insert.run(1));
    await expect(commits.durable()).rejects.toThrow("commit failed");
    expect(() => commits.write(() => insert.run(2))).toThrow("commit failed");
    expect(() => commits.now(() => insert.run(3))).toThrow("commit failed");
  });
});
