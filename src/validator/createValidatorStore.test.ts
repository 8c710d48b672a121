import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createValidatorStore } from "./createValidatorStore.ts";

const dirs: string[] = [];
const storePath = () => {
  const dir = mkdtempSync(join(tmpdir(), "gotong-validator-store-"));
  dirs.push(dir);
  return join(dir, "validator.db");
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const caseId = `0x${"ab".repeat(32)}` as const;
const salt = `0x${"cd".repeat(32)}` as const;
const provider = "0x00000000000000000000000000000000000000a1" as const;

describe("createValidatorStore", () => {
  it("keeps a committed vote's salt across a restart, until the case is done", () => {
    const path = storePath();
    const first = createValidatorStore(path);
    first.saveVote({ caseId, fraud: true, salt, reason: "different_output", commitDeadline: 100n, revealDeadline: 200n });
    first.close();
    const second = createValidatorStore(path);
    expect(second.openVotes()).toEqual([{ caseId, fraud: true, salt, reason: "different_output", commitDeadline: 100n, revealDeadline: 200n, state: "committed", contract: "serving" }]);
    // A second save of the same case (a retried round) never replaces the salt already committed.
    second.saveVote({ caseId, fraud: false, salt: `0x${"ee".repeat(32)}`, reason: "ok", commitDeadline: 1n, revealDeadline: 2n });
    expect(second.vote(caseId)?.salt).toBe(salt);
    second.setVoteState(caseId, "revealed");
    expect(second.vote(caseId)?.state).toBe("revealed");
    second.setVoteState(caseId, "done");
    expect(second.openVotes()).toEqual([]);
    second.close();
  });

  it("keeps derivation-court votes and their scan cursor apart from verification cases", () => {
    const store = createValidatorStore(storePath());
    const dispute = `0x${"d1".repeat(32)}` as const;
    store.saveVote({ caseId, fraud: true, salt, reason: "different_output", commitDeadline: 100n, revealDeadline: 200n });
    store.saveVote({ caseId: dispute, fraud: true, salt, reason: "derivative", commitDeadline: 100n, revealDeadline: 300n, contract: "court" });
    expect(store.openVotes().map((v) => v.caseId)).toEqual([caseId]);
    expect(store.openVotes("court").map((v) => [v.caseId, v.contract])).toEqual([[dispute, "court"]]);
    store.setCursor(50n);
    store.setCursor(7n, "disputes");
    expect([store.cursor(), store.cursor("disputes")]).toEqual([50n, 7n]);
    store.close();
  });

  it("counts a pass once per evidence, dates the oldest pending one, and takes off only what was attested", () => {
    const store = createValidatorStore(storePath());
    expect(store.addPass(provider, `0x${"01".repeat(32)}`, 1_000)).toBe(true);
    expect(store.addPass(provider, `0x${"01".repeat(32)}`, 2_000)).toBe(false); // replayed evidence
    expect(store.addPass(provider, `0x${"02".repeat(32)}`, 3_000)).toBe(true);
    expect(store.pendingPasses()).toEqual([{ provider, count: 2, since: 1_000 }]);
    // One left after an attestation was counted while it was mined: its clock starts then.
    store.passesAttested(provider, 1, 5_000);
    expect(store.pendingPasses()).toEqual([{ provider, count: 1, since: 5_000 }]);
    store.passesAttested(provider, 1, 6_000);
    expect(store.pendingPasses()).toEqual([]);
    // The next pass after none pending starts a new clock.
    store.addPass(provider, `0x${"03".repeat(32)}`, 9_000);
    expect(store.pendingPasses()).toEqual([{ provider, count: 1, since: 9_000 }]);
    store.close();
  });

  it("dates passes kept by a version 2 store from when it is opened", () => {
    const path = storePath();
    const old = new Database(path);
    old.exec(`CREATE TABLE votes (case_id TEXT PRIMARY KEY, fraud INTEGER NOT NULL, salt TEXT NOT NULL, reason TEXT NOT NULL, commit_deadline TEXT NOT NULL, reveal_deadline TEXT NOT NULL, state TEXT NOT NULL, contract TEXT NOT NULL DEFAULT 'serving');
      CREATE TABLE passes (provider TEXT PRIMARY KEY, count INTEGER NOT NULL);
      CREATE TABLE passed_evidence (evidence TEXT PRIMARY KEY);
      CREATE TABLE cursor (name TEXT PRIMARY KEY, block TEXT NOT NULL);
      INSERT INTO passes VALUES ('${provider.toLowerCase()}', 7);
      PRAGMA user_version = 2;`);
    old.close();
    const before = Date.now();
    const store = createValidatorStore(path);
    const [pending] = store.pendingPasses();
    expect(pending).toMatchObject({ provider: provider.toLowerCase(), count: 7 });
    // SQLite's clock has whole seconds.
    expect(pending!.since).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(pending!.since).toBeLessThanOrEqual(Date.now());
    store.close();
  });

  it("keeps the scan cursor", () => {
    const path = storePath();
    const store = createValidatorStore(path);
    expect(store.cursor()).toBeUndefined();
    store.setCursor(12_345n);
    store.close();
    const again = createValidatorStore(path);
    expect(again.cursor()).toBe(12_345n);
    again.close();
  });
});
