import type { Abi, AbiEvent, Address } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Logger } from "../common/logger.ts";
import type { Judge } from "./createJudge.ts";
import type { ValidatorStore } from "./createValidatorStore.ts";
import { createVoteWatcher, type OpenedLog } from "./createVoteWatcher.ts";
import { readCaseEvidence } from "./readCaseEvidence.ts";
import { ServingVerificationArtifact } from "../chain/contracts.generated.ts";

const caseOpenedEvent = ServingVerificationArtifact.abi.find((x) => x.type === "event" && x.name === "CaseOpened") as AbiEvent;

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
 * Watches ServingVerification for the fraud cases this validator is drawn in and sees each through
 * (createVoteWatcher): re-runs the case's evidence on the weights its receipt names, commits the
 * vote, reveals and finalizes.
 */
export function createCaseWatcher(options: CaseWatcherOptions) {
  const { clients, judge, logger } = options;
  return createVoteWatcher({
    ...options,
    contract: { address: options.servingVerification, abi: ServingVerificationArtifact.abi as Abi },
    kind: "serving",
    openedEvent: caseOpenedEvent,
    outcomes: ["open", "fraud", "honest", "no quorum"],
    async decide(log: OpenedLog) {
      logger.info("drawn in a case: re-running the evidence", { caseId: log.args.caseId, provider: (log.args as { provider?: Address }).provider });
      const evidence = await readCaseEvidence(clients.public, options.servingVerification, log as Parameters<typeof readCaseEvidence>[2]);
      const verdict = await judge.judge(evidence);
      return { vote: verdict.fraud, reason: verdict.reason, detail: verdict.detail, agreement: verdict.agreement };
    },
  });
}

export type CaseWatcher = ReturnType<typeof createCaseWatcher>;
