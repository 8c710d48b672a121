import type { Address, Hex } from "viem";
import { openDatabase } from "../common/db.ts";
import type { Migration } from "../common/migrate.ts";

/** A vote this validator committed on a case, kept until the case is decided. */
export type StoredVote = {
  caseId: Hex;
  fraud: boolean;
  /** The salt of the commitment: without it the vote cannot be revealed (and the stake is penalised). */
  salt: Hex;
  reason: string;
  commitDeadline: bigint;
  revealDeadline: bigint;
  state: "committed" | "revealed" | "done";
  /** Which contract the case is in: ServingVerification's fraud cases or DerivationCourt's disputes (then `fraud` is the "derivative" vote). */
  contract: VoteContract;
};

/** The contracts a validator votes in. */
export type VoteContract = "serving" | "court";

const migrations: readonly Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE IF NOT EXISTS votes (
        case_id TEXT PRIMARY KEY, fraud INTEGER NOT NULL, salt TEXT NOT NULL, reason TEXT NOT NULL,
        commit_deadline TEXT NOT NULL, reveal_deadline TEXT NOT NULL, state TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS passes (provider TEXT PRIMARY KEY, count INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS passed_evidence (evidence TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS cursor (name TEXT PRIMARY KEY, block TEXT NOT NULL);
    `,
  },
  {
    version: 2,
    up: `ALTER TABLE votes ADD COLUMN contract TEXT NOT NULL DEFAULT 'serving';`,
  },
  {
    // When a provider's oldest pass not yet attested was counted (ms since the epoch), so passes
    // are attested by count or by age (createPassBatcher). Passes kept from before count from now.
    version: 3,
    up: `
      ALTER TABLE passes ADD COLUMN since INTEGER NOT NULL DEFAULT 0;
      UPDATE passes SET since = CAST(strftime('%s', 'now') AS INTEGER) * 1000 WHERE count > 0;
    `,
  },
];

/** A provider's passes not yet attested on-chain. */
export type PendingPasses = {
  provider: Address;
  count: number;
  /** When the oldest of them was counted (ms since the epoch). */
  since: number;
};

/**
 * The validator's state on disk (SQLite, every write durable before it returns): the salts of its
 * commitments, so a restart between commit and reveal still reveals; the passes not yet attested
 * on-chain; which evidence already counted as a pass (replayed evidence counts once); and how far
 * the case scan got.
 */
export function createValidatorStore(path: string) {
  const db = openDatabase(path, { what: "validator store", migrations });
  const putVote = db.prepare("INSERT INTO votes (case_id, fraud, salt, reason, commit_deadline, reveal_deadline, state, contract) VALUES (?, ?, ?, ?, ?, ?, 'committed', ?) ON CONFLICT(case_id) DO NOTHING");
  const setState = db.prepare("UPDATE votes SET state = ? WHERE case_id = ?");
  const getVote = db.prepare("SELECT * FROM votes WHERE case_id = ?");
  const openVotes = db.prepare("SELECT * FROM votes WHERE state != 'done' AND contract = ? ORDER BY reveal_deadline");
  // A pass counted while none is pending starts the provider's clock; later ones leave it.
  const addPassRow = db.prepare("INSERT INTO passes (provider, count, since) VALUES (?, 1, ?) ON CONFLICT(provider) DO UPDATE SET count = count + 1, since = CASE WHEN count = 0 THEN excluded.since ELSE since END");
  const markEvidence = db.prepare("INSERT INTO passed_evidence (evidence) VALUES (?) ON CONFLICT DO NOTHING");
  const allPasses = db.prepare("SELECT provider, count, since FROM passes WHERE count > 0");
  // Passes left after an attestation were counted while it was mined: their clock starts then.
  const takePasses = db.prepare("UPDATE passes SET count = count - @count, since = CASE WHEN count - @count > 0 THEN @now ELSE since END WHERE provider = @provider");
  const getCursor = db.prepare("SELECT block FROM cursor WHERE name = ?");
  const putCursor = db.prepare("INSERT INTO cursor (name, block) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET block = excluded.block");

  type Row = { case_id: string; fraud: number; salt: string; reason: string; commit_deadline: string; reveal_deadline: string; state: StoredVote["state"]; contract: VoteContract };
  const toVote = (row: Row): StoredVote => ({
    caseId: row.case_id as Hex,
    fraud: row.fraud === 1,
    salt: row.salt as Hex,
    reason: row.reason,
    commitDeadline: BigInt(row.commit_deadline),
    revealDeadline: BigInt(row.reveal_deadline),
    state: row.state,
    contract: row.contract,
  });

  return {
    /** Records a vote before its commitment is sent: a crash after sending still knows the salt. */
    saveVote(vote: Omit<StoredVote, "state" | "contract"> & { contract?: VoteContract }): void {
      putVote.run(vote.caseId.toLowerCase(), vote.fraud ? 1 : 0, vote.salt, vote.reason, String(vote.commitDeadline), String(vote.revealDeadline), vote.contract ?? "serving");
    },
    vote(caseId: Hex): StoredVote | undefined {
      const row = getVote.get(caseId.toLowerCase()) as Row | undefined;
      return row && toVote(row);
    },
    setVoteState(caseId: Hex, state: StoredVote["state"]): void {
      setState.run(state, caseId.toLowerCase());
    },
    /** Votes in `contract`'s cases not known decided yet, earliest reveal deadline first. */
    openVotes(contract: VoteContract = "serving"): StoredVote[] {
      return (openVotes.all(contract) as Row[]).map(toVote);
    },
    /** Counts a pass for `provider` unless this evidence already counted; true when it counted. */
    addPass(provider: Address, evidence: Hex, now = Date.now()): boolean {
      return db.transaction(() => {
        if (markEvidence.run(evidence.toLowerCase()).changes === 0) return false;
        addPassRow.run(provider.toLowerCase(), now);
        return true;
      })();
    },
    /** Passes not yet attested on-chain, by provider. */
    pendingPasses(): PendingPasses[] {
      return (allPasses.all() as { provider: string; count: number; since: number }[]).map((r) => ({ provider: r.provider as Address, count: r.count, since: r.since }));
    },
    /** Takes `count` passes of `provider` off the pending ones, once they are attested. */
    passesAttested(provider: Address, count: number, now = Date.now()): void {
      takePasses.run({ count, now, provider: provider.toLowerCase() });
    },
    /** The next block a scan reads ("cases": ServingVerification's, "disputes": DerivationCourt's), or undefined before its first. */
    cursor(name = "cases"): bigint | undefined {
      const row = getCursor.get(name) as { block: string } | undefined;
      return row && BigInt(row.block);
    },
    setCursor(block: bigint, name = "cases"): void {
      putCursor.run(name, String(block));
    },
    close(): void {
      db.close();
    },
  };
}

export type ValidatorStore = ReturnType<typeof createValidatorStore>;
