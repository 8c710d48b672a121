import { randomBytes } from "node:crypto";
import type { Address, Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { isGotongError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { scanBlockRanges } from "../gateway/discovery/scanBlockRanges.ts";
import type { Judge } from "./createJudge.ts";
import type { StoredVote, ValidatorStore } from "./createValidatorStore.ts";
import { commitmentOf } from "./commitmentOf.ts";
import { readCaseEvidence } from "./readCaseEvidence.ts";
import { ServingVerificationArtifact } from "../chain/contracts.generated.ts";
import { OUTCOME } from "./caseOutcome.ts";

/** A case as ServingVerification.getCase returns it (the fields the watcher reads). */
type ChainCase = { provider: Address; commitDeadline: bigint; revealDeadline: bigint; outcome: number; commits: number; reveals: number; revealedMask: number; validators: readonly Address[]; commitments: readonly Hex[] };

const caseOpenedEvent = ServingVerificationArtifact.abi.find((x) => x.type === "event" && x.name === "CaseOpened") as Extract<(typeof ServingVerificationArtifact.abi)[number], { name: "CaseOpened" }>;
const ZERO = `0x${"00".repeat(32)}`;

export type CaseWatcherOptions = {
  clients: ChainClients;
  servingVerification: Address;
  store: ValidatorStore;
  judge: Judge;
  logger: Logger;
  /** First block to scan when the store has no cursor yet (the deployment's start block). */
  startBlock: bigint;
  /** Time between two rounds of scanning and advancing votes. Default 2 s. */
  pollMs?: number;
  /** Most blocks per eth_getLogs. Default 2,000 (what public RPCs commonly allow). */
  maxRange?: number;
};

/**
 * Watches ServingVerification for the cases this validator is drawn in and sees each through:
 * re-runs the evidence, commits a vote (its salt saved first, so a restart can reveal it), reveals
 * once reveals open (all three committed, or the commit phase ended), and finalizes once the case is
 * decidable. Logs are read in pages from a cursor kept in the store, so a restart resumes the scan.
 */
export function createCaseWatcher(options: CaseWatcherOptions) {
  const { clients, store, judge, logger } = options;
  const me = clients.account.address;
  const contract = { address: options.servingVerification, abi: ServingVerificationArtifact.abi } as const;
  const pollMs = options.pollMs ?? 2_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const readCase = async (caseId: Hex) => (await clients.public.readContract({ ...contract, functionName: "getCase", args: [caseId] })) as unknown as ChainCase;
  const chainTime = async () => (await clients.public.getBlock({ blockTag: "latest" })).timestamp;
  const seatOf = (c: ChainCase) => c.validators.findIndex((v) => v.toLowerCase() === me.toLowerCase());

  /** Re-runs a case's evidence and commits the vote. */
  const take = async (log: Parameters<typeof readCaseEvidence>[2] & { args: { caseId?: Hex; validators?: readonly Address[]; commitDeadline?: bigint; revealDeadline?: bigint } }) => {
    const caseId = log.args.caseId!;
    if (store.vote(caseId)) return;
    const c = await readCase(caseId);
    const now = await chainTime();
    if (c.outcome !== OUTCOME.open || now >= c.commitDeadline) {
      logger.warn("drawn in a case whose commit phase is over", { caseId, outcome: c.outcome });
      return;
    }
    logger.info("drawn in a case: re-running the evidence", { caseId, provider: c.provider });
    const evidence = await readCaseEvidence(clients.public, options.servingVerification, log);
    const verdict = await judge.judge(evidence);
    const salt = `0x${randomBytes(32).toString("hex")}` as Hex;
    store.saveVote({ caseId, fraud: verdict.fraud, salt, reason: verdict.reason, commitDeadline: c.commitDeadline, revealDeadline: c.revealDeadline });
    logger.info("verdict reached", { caseId, fraud: verdict.fraud, reason: verdict.reason, agreement: verdict.agreement.toFixed(3), detail: verdict.detail });
    await commit(store.vote(caseId)!);
  };

  const commit = async (vote: StoredVote) => {
    await writeAndWait(clients, { ...contract, functionName: "commitVote", args: [vote.caseId, commitmentOf(vote.caseId, vote.fraud, vote.salt, me)] });
    logger.info("vote committed", { caseId: vote.caseId });
  };

  /** Moves one stored vote on: commit again if the commitment never landed, reveal, finalize, or close it. */
  const advance = async (vote: StoredVote) => {
    const c = await readCase(vote.caseId);
    if (c.outcome !== OUTCOME.open) {
      store.setVoteState(vote.caseId, "done");
      logger.info("case decided", { caseId: vote.caseId, outcome: ["open", "fraud", "honest", "no quorum"][c.outcome], voted: vote.fraud ? "fraud" : "honest" });
      return;
    }
    const seat = seatOf(c);
    const now = await chainTime();
    if (vote.state === "committed") {
      if (c.commitments[seat] === ZERO) {
        if (now < c.commitDeadline) return commit(vote); // saved, then the process stopped before the commitment was mined
        logger.warn("the commit phase ended before this vote was committed", { caseId: vote.caseId });
        store.setVoteState(vote.caseId, "revealed"); // nothing to reveal: only finalizing is left
        return;
      }
      const revealOpen = c.commits >= 3 || now >= c.commitDeadline;
      if (!revealOpen) return;
      if (now >= c.revealDeadline) {
        logger.warn("missed the reveal deadline", { caseId: vote.caseId });
        store.setVoteState(vote.caseId, "revealed");
        return;
      }
      await writeAndWait(clients, { ...contract, functionName: "revealVote", args: [vote.caseId, vote.fraud, vote.salt] });
      store.setVoteState(vote.caseId, "revealed");
      logger.info("vote revealed", { caseId: vote.caseId, fraud: vote.fraud });
      return;
    }
    const decidable = c.reveals >= 3 || now >= c.revealDeadline || (now >= c.commitDeadline && c.commits < 2);
    if (!decidable) return;
    try {
      await writeAndWait(clients, { ...contract, functionName: "finalize", args: [vote.caseId] });
      logger.info("case finalized", { caseId: vote.caseId });
    } catch (error) {
      // Another drawn validator may have finalized it in the same block: the next round reads the outcome.
      if ((await readCase(vote.caseId)).outcome === OUTCOME.open) throw error;
    }
  };

  const scan = async () => {
    const head = await clients.public.getBlockNumber();
    const from = store.cursor() ?? options.startBlock;
    await scanBlockRanges({
      fromBlock: from,
      toBlock: head,
      maxRange: options.maxRange ?? 2_000,
      read: (range) => clients.public.getLogs({ address: options.servingVerification, event: caseOpenedEvent, ...range, strict: true }),
      onPage: async (logs, range) => {
        for (const log of logs) {
          if (!log.args.validators.some((v) => v.toLowerCase() === me.toLowerCase())) continue;
          try {
            await take(log);
          } catch (error) {
            if (isGotongError(error, "model_not_found")) {
              // Retrying cannot help, and must not hold up the cases after it: say so and move on.
              logger.error("drawn in a case for weights this validator does not hold: it cannot vote and will be penalised for not revealing", { caseId: log.args.caseId, weightsHash: log.args.weightsHash });
              continue;
            }
            logger.warn("could not vote on a case; retrying next round", { caseId: log.args.caseId, error: error as Error });
            // Not saved: the cursor stays before this page, so the next round tries again while it can.
            throw error;
          }
        }
        store.setCursor(range.toBlock + 1n);
      },
    });
  };

  const round = async () => {
    try {
      await scan();
    } catch (error) {
      logger.debug("case scan stopped early; retrying next round", { error: error as Error });
    }
    for (const vote of store.openVotes()) {
      if (stopped) return;
      try {
        await advance(vote);
      } catch (error) {
        logger.warn("could not advance a vote", { caseId: vote.caseId, state: vote.state, error: error as Error });
      }
    }
  };

  const loop = () => {
    if (stopped) return;
    running = round().finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(loop, pollMs);
    });
  };

  return {
    start() {
      loop();
    },
    /** One round now (tests): scan, then advance every open vote. */
    round,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type CaseWatcher = ReturnType<typeof createCaseWatcher>;
