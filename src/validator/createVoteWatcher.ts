import { randomBytes } from "node:crypto";
import type { Abi, AbiEvent, Address, Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { isGotongError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { scanBlockRanges } from "../gateway/discovery/scanBlockRanges.ts";
import type { StoredVote, ValidatorStore, VoteContract } from "./createValidatorStore.ts";
import { commitmentOf } from "./commitmentOf.ts";
import { isDecidable } from "./caseOutcome.ts";

/** A case as `getCase` returns it in both voting contracts (the fields the watcher reads). */
type ChainCase = { commitDeadline: bigint; revealDeadline: bigint; outcome: number; commits: number; reveals: number; validators: readonly Address[]; commitments: readonly Hex[] };

/** A case-opening log: its id and the validators drawn. */
export type OpenedLog = { args: { caseId?: Hex; validators?: readonly Address[] } } & Record<string, unknown>;

/** What a validator decided about a case: the vote (ServingVerification: fraud; DerivationCourt: derivative) and why. */
export type Decision = { vote: boolean; reason: string; detail: string; agreement?: number };

export type VoteWatcherOptions = {
  clients: ChainClients;
  /** The contract voted in: ServingVerification or DerivationCourt (same commit-reveal functions and getCase shape). */
  contract: { address: Address; abi: Abi };
  /** Which of the store's votes and cursor are this contract's. */
  kind: VoteContract;
  /** The event that opens a case and names its validators. */
  openedEvent: AbiEvent;
  /** Decides a case this validator is drawn in; a `model_not_found` GotongError means it cannot, ever. */
  decide(log: OpenedLog): Promise<Decision>;
  /** The names of outcomes 0..3, for the log. */
  outcomes: readonly string[];
  store: ValidatorStore;
  logger: Logger;
  /** First block to scan when the store has no cursor yet (the deployment's start block). */
  startBlock: bigint;
  /** Time between two rounds of scanning and advancing votes. Default 2 s. */
  pollMs?: number;
  /** Most blocks per eth_getLogs. Default 2,000 (what public RPCs commonly allow). */
  maxRange?: number;
};

const OPEN = 0;
const ZERO = `0x${"00".repeat(32)}`;

/**
 * Watches a commit-reveal contract for the cases this validator is drawn in and sees each through:
 * decides, commits a vote (its salt saved first, so a restart can reveal it), reveals once reveals
 * open (all three committed, or the commit phase ended), and finalizes once the case is decidable.
 * Logs are read in pages from a cursor kept in the store, so a restart resumes the scan.
 */
export function createVoteWatcher(options: VoteWatcherOptions) {
  const { clients, store, logger, kind } = options;
  const me = clients.account.address;
  const contract = options.contract;
  const cursorName = kind === "serving" ? "cases" : "disputes";
  const pollMs = options.pollMs ?? 2_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const readCase = async (caseId: Hex) => (await clients.public.readContract({ ...contract, functionName: "getCase", args: [caseId] })) as unknown as ChainCase;
  const chainTime = async () => (await clients.public.getBlock({ blockTag: "latest" })).timestamp;
  const seatOf = (c: ChainCase) => c.validators.findIndex((v) => v.toLowerCase() === me.toLowerCase());

  /** Decides a case and commits the vote. */
  const take = async (log: OpenedLog) => {
    const caseId = log.args.caseId!;
    if (store.vote(caseId)) return;
    const c = await readCase(caseId);
    const now = await chainTime();
    if (c.outcome !== OPEN || now >= c.commitDeadline) {
      logger.warn("drawn in a case whose commit phase is over", { caseId, outcome: c.outcome });
      return;
    }
    const decision = await options.decide(log);
    const salt = `0x${randomBytes(32).toString("hex")}` as Hex;
    store.saveVote({ caseId, fraud: decision.vote, salt, reason: decision.reason, commitDeadline: c.commitDeadline, revealDeadline: c.revealDeadline, contract: kind });
    logger.info("verdict reached", { caseId, vote: decision.vote, reason: decision.reason, ...(decision.agreement !== undefined ? { agreement: decision.agreement.toFixed(3) } : {}), detail: decision.detail });
    await commit(store.vote(caseId)!);
  };

  const commit = async (vote: StoredVote) => {
    await writeAndWait(clients, { ...contract, functionName: "commitVote", args: [vote.caseId, commitmentOf(vote.caseId, vote.fraud, vote.salt, me)] });
    logger.info("vote committed", { caseId: vote.caseId });
  };

  /** Moves one stored vote on: commit again if the commitment never landed, reveal, finalize, or close it. */
  const advance = async (vote: StoredVote) => {
    const c = await readCase(vote.caseId);
    if (c.outcome !== OPEN) {
      store.setVoteState(vote.caseId, "done");
      logger.info("case decided", { caseId: vote.caseId, outcome: options.outcomes[c.outcome], voted: vote.fraud });
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
      logger.info("vote revealed", { caseId: vote.caseId, vote: vote.fraud });
      return;
    }
    if (!isDecidable(c, now)) return;
    try {
      await writeAndWait(clients, { ...contract, functionName: "finalize", args: [vote.caseId] });
      logger.info("case finalized", { caseId: vote.caseId });
    } catch (error) {
      // Another drawn validator may have finalized it in the same block: the next round reads the outcome.
      if ((await readCase(vote.caseId)).outcome === OPEN) throw error;
    }
  };

  const scan = async () => {
    const head = await clients.public.getBlockNumber();
    const from = store.cursor(cursorName) ?? options.startBlock;
    await scanBlockRanges({
      fromBlock: from,
      toBlock: head,
      maxRange: options.maxRange ?? 2_000,
      read: (range) => clients.public.getLogs({ address: contract.address, event: options.openedEvent, ...range, strict: true }) as Promise<OpenedLog[]>,
      onPage: async (logs, range) => {
        for (const log of logs) {
          if (!log.args.validators?.some((v) => v.toLowerCase() === me.toLowerCase())) continue;
          try {
            await take(log);
          } catch (error) {
            if (isGotongError(error, "model_not_found")) {
              // Retrying cannot help, and must not hold up the cases after it: say so and move on.
              logger.error("drawn in a case for weights this validator does not hold: it cannot vote", { caseId: log.args.caseId, error: (error as Error).message });
              continue;
            }
            logger.warn("could not vote on a case; retrying next round", { caseId: log.args.caseId, error: error as Error });
            // Not saved: the cursor stays before this page, so the next round tries again while it can.
            throw error;
          }
        }
        store.setCursor(range.toBlock + 1n, cursorName);
      },
    });
  };

  const round = async () => {
    try {
      await scan();
    } catch (error) {
      logger.debug("case scan stopped early; retrying next round", { error: error as Error });
    }
    for (const vote of store.openVotes(kind)) {
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

export type VoteWatcher = ReturnType<typeof createVoteWatcher>;
