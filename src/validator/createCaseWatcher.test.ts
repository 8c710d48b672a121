import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import type { ChainClients } from "../chain/createClients.ts";
import { createLogger } from "../common/logger.ts";
import { signEvidence } from "../verification/evidenceFixtures.ts";
import type { Evidence } from "../verification/index.ts";
import { commitmentOf } from "./commitmentOf.ts";
import { createCaseWatcher } from "./createCaseWatcher.ts";
import type { Judge } from "./createJudge.ts";
import { createValidatorStore } from "./createValidatorStore.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const sv = "0x00000000000000000000000000000000000000d1" as Address;
const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000c1" as Address };
const weightsHash = `0x${"77".repeat(32)}` as Hex;
const ZERO = `0x${"00".repeat(32)}` as Hex;

/**
 * A ServingVerification that lives in memory and checks what the real one checks of a validator:
 * commits before the commit deadline, reveals that open once all three committed and match the
 * commitment (keccak of caseId, vote, salt and sender), finalize once all revealed.
 */
function fakeChain(me: Address, others: Address[], evidence: Evidence) {
  const caseId = `0x${"c0".repeat(32)}` as Hex;
  const validators = [others[0]!, me, others[1]!];
  const c = { provider: evidence.provider, commitDeadline: 1_000n, revealDeadline: 2_000n, outcome: 0, commits: 0, reveals: 0, revealedMask: 0, validators, commitments: [ZERO, ZERO, ZERO] as Hex[], votes: [] as boolean[] };
  const sent: string[] = [];
  let now = 500n;
  const log = {
    args: { caseId, provider: evidence.provider, reporter: others[2]!, validators, weightsHash, commitDeadline: c.commitDeadline, revealDeadline: c.revealDeadline },
    blockNumber: 10n,
    transactionHash: `0x${"aa".repeat(32)}`,
  };
  const submitted = {
    args: {
      caseId,
      receipt: { ...evidence.receipt, signature: undefined },
      signature: evidence.receipt.signature,
      request: `0x${Buffer.from(evidence.request).toString("hex")}`,
      response: `0x${Buffer.from(evidence.response).toString("hex")}`,
    },
  };
  const apply = (functionName: string, args: readonly unknown[]) => {
    const seat = 1;
    if (functionName === "commitVote") {
      if (now >= c.commitDeadline) throw new Error("CommitClosed");
      c.commitments[seat] = args[1] as Hex;
      c.commits++;
    } else if (functionName === "revealVote") {
      if (c.commits < 3 && now < c.commitDeadline) throw new Error("RevealNotOpen");
      if (commitmentOf(caseId, args[1] as boolean, args[2] as Hex, me) !== c.commitments[seat]) throw new Error("CommitmentMismatch");
      c.votes.push(args[1] as boolean);
      c.reveals++;
    } else if (functionName === "finalize") {
      if (c.reveals < 3 && now < c.revealDeadline) throw new Error("NotDecidable");
      c.outcome = c.votes.filter(Boolean).length >= 2 ? 1 : 2;
    }
  };
  const publicClient = {
    getBlockNumber: async () => 20n,
    getBlock: async () => ({ timestamp: now }),
    getLogs: async (q: { event: { name: string }; fromBlock: bigint; toBlock: bigint }) => {
      if (q.event.name === "CaseOpened") return q.fromBlock <= 10n && q.toBlock >= 10n ? [log] : [];
      return [submitted];
    },
    getTransaction: async () => {
      throw new Error("not needed: the event carries the evidence");
    },
    readContract: async (q: { functionName: string }) => {
      if (q.functionName !== "getCase") throw new Error(`unexpected read ${q.functionName}`);
      return { ...c, commitments: [...c.commitments] };
    },
    simulateContract: async (q: { functionName: string; args: readonly unknown[] }) => {
      apply(q.functionName, q.args);
      sent.push(q.functionName);
      return { request: q, result: undefined };
    },
    waitForTransactionReceipt: async () => ({ status: "success" }),
  };
  const account = privateKeyToAccount(generatePrivateKey());
  const clients = { public: publicClient, wallet: { writeContract: async () => `0x${"bb".repeat(32)}` }, account: { ...account, address: me } } as unknown as ChainClients;
  return {
    clients,
    c,
    caseId,
    sent,
    /** The two other validators commit (their commitments are not checked by this fake). */
    othersCommit: () => {
      c.commitments[0] = `0x${"01".repeat(32)}`;
      c.commitments[2] = `0x${"02".repeat(32)}`;
      c.commits += 2;
    },
    othersReveal: (fraud: boolean) => {
      c.votes.push(fraud, fraud);
      c.reveals += 2;
    },
    setNow: (t: bigint) => void (now = t),
  };
}

const judgeSaying = (fraud: boolean): Judge & { calls: number } => {
  const j = {
    calls: 0,
    weightsHashes: [weightsHash],
    holds: () => true,
    async judge() {
      j.calls++;
      return { fraud, reason: fraud ? "different_output" : "ok", agreement: fraud ? 0.2 : 1, positions: 5, detail: "" } as const;
    },
    dispose: async () => {},
  };
  return j;
};

describe("createCaseWatcher", () => {
  it("commits its re-run verdict, reveals after a restart with the saved salt, and finalizes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gotong-watcher-"));
    dirs.push(dir);
    const me = privateKeyToAccount(generatePrivateKey()).address;
    const others = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()).address);
    const provider = privateKeyToAccount(generatePrivateKey());
    const evidence = await signEvidence(provider, domain, { body: { prompt: "Once", temperature: 0 }, text: " upon", inputTokens: 2, outputTokens: 1, weightsHash });
    const chain = fakeChain(me, others, evidence);
    const logger = createLogger({ level: "silent" });
    const path = join(dir, "v.db");

    const store1 = createValidatorStore(path);
    const judge = judgeSaying(true);
    const first = createCaseWatcher({ clients: chain.clients, servingVerification: sv, store: store1, judge, logger, startBlock: 0n });
    await first.round();
    expect(judge.calls).toBe(1);
    expect(chain.sent).toEqual(["commitVote"]);
    const saved = store1.vote(chain.caseId)!;
    expect(chain.c.commitments[1]).toBe(commitmentOf(chain.caseId, true, saved.salt, me));
    await first.round(); // reveals are not open yet: two validators have not committed
    expect(chain.sent).toEqual(["commitVote"]);
    await first.stop();
    store1.close();

    // The process stops between commit and reveal; a new one on the same store reveals.
    chain.othersCommit();
    const store2 = createValidatorStore(path);
    const second = createCaseWatcher({ clients: chain.clients, servingVerification: sv, store: store2, judge, logger, startBlock: 0n });
    await second.round();
    expect(judge.calls).toBe(1); // the case was not re-run: the cursor and the vote were kept
    expect(chain.sent).toEqual(["commitVote", "revealVote"]);
    expect(chain.c.votes).toEqual([true]);
    chain.othersReveal(true);
    await second.round();
    expect(chain.sent).toEqual(["commitVote", "revealVote", "finalize"]);
    expect(chain.c.outcome).toBe(1);
    await second.round(); // the decided case is closed in the store, nothing more is sent
    expect(chain.sent).toEqual(["commitVote", "revealVote", "finalize"]);
    expect(store2.openVotes()).toEqual([]);
    await second.stop();
    store2.close();
  });

  it("does not vote on a case whose commit phase is over when it sees it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gotong-watcher-"));
    dirs.push(dir);
    const me = privateKeyToAccount(generatePrivateKey()).address;
    const others = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()).address);
    const evidence = await signEvidence(privateKeyToAccount(generatePrivateKey()), domain, { body: { prompt: "a", temperature: 0 }, text: "b", inputTokens: 1, outputTokens: 1, weightsHash });
    const chain = fakeChain(me, others, evidence);
    chain.setNow(1_500n);
    const store = createValidatorStore(join(dir, "v.db"));
    const judge = judgeSaying(false);
    const watcher = createCaseWatcher({ clients: chain.clients, servingVerification: sv, store, judge, logger: createLogger({ level: "silent" }), startBlock: 0n });
    await watcher.round();
    expect(judge.calls).toBe(0);
    expect(chain.sent).toEqual([]);
    store.close();
  });

  it("moves past a case for weights it does not hold instead of retrying it forever", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gotong-watcher-"));
    dirs.push(dir);
    const me = privateKeyToAccount(generatePrivateKey()).address;
    const others = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()).address);
    const evidence = await signEvidence(privateKeyToAccount(generatePrivateKey()), domain, { body: { prompt: "a", temperature: 0 }, text: "b", inputTokens: 1, outputTokens: 1, weightsHash });
    const chain = fakeChain(me, others, evidence);
    const store = createValidatorStore(join(dir, "v.db"));
    const { GotongError } = await import("../common/errors.ts");
    const judge: Judge = { weightsHashes: [], holds: () => false, judge: async () => { throw new GotongError("no such weights", { code: "model_not_found", status: 404 }); }, dispose: async () => {} };
    const watcher = createCaseWatcher({ clients: chain.clients, servingVerification: sv, store, judge, logger: createLogger({ level: "silent" }), startBlock: 0n });
    await watcher.round();
    expect(chain.sent).toEqual([]);
    expect(store.cursor()).toBe(21n); // scanned to the head (20) and past it
    store.close();
  });
});
