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

  it("counts a pass once per evidence and takes off only what was attested", () => {
    const store = createValidatorStore(storePath());
    expect(store.addPass(provider, `0x${"01".repeat(32)}`)).toBe(true);
    expect(store.addPass(provider, `0x${"01".repeat(32)}`)).toBe(false); // replayed evidence
    expect(store.addPass(provider, `0x${"02".repeat(32)}`)).toBe(true);
    expect(store.pendingPasses()).toEqual([{ provider, count: 2 }]);
    store.passesAttested(provider, 1);
    expect(store.pendingPasses()).toEqual([{ provider, count: 1 }]);
    store.passesAttested(provider, 1);
    expect(store.pendingPasses()).toEqual([]);
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
