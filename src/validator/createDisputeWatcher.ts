import type { Abi, AbiEvent, Address, Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { DerivationCourtArtifact } from "../chain/contracts.generated.ts";
import { GotongError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { BlindVote } from "./createJudge.ts";
import type { ValidatorStore } from "./createValidatorStore.ts";
import { createVoteWatcher, type OpenedLog } from "./createVoteWatcher.ts";
import type { WeightsLocator } from "./createWeightsLocator.ts";
import { judgeDerivation, type JudgeDerivationOptions } from "./judgeDerivation.ts";

const disputeOpenedEvent = DerivationCourtArtifact.abi.find((x) => x.type === "event" && x.name === "DisputeOpened") as AbiEvent;

type DisputeArgs = { caseId: Hex; childId: bigint; parentId: bigint; childWeights: Hex; parentWeights: Hex };

export type DisputeWatcherOptions = {
  clients: ChainClients;
  derivationCourt: Address;
  store: ValidatorStore;
  /** Where the two models' GGUFs are found by weights hash. */
  weights: WeightsLocator;
  /** How the two models are compared (threads, prompts…); the seed is always the case id. */
  judging?: Omit<JudgeDerivationOptions, "seed">;
  /** Tests only: vote "derivative" ("fraud") or not ("honest") without running anything. */
  blindVote?: BlindVote;
  logger: Logger;
  startBlock: bigint;
  pollMs?: number;
  maxRange?: number;
};

/**
 * Watches DerivationCourt for the disputes this validator is drawn in and sees each through
 * (createVoteWatcher): finds both models' weights by hash, runs judgeDerivation on them with the
 * case id as the seed (so every honest validator runs the same prompts), commits "derivative" or
 * not, reveals and finalizes. A validator that holds either file not cannot vote, and says which.
 */
export function createDisputeWatcher(options: DisputeWatcherOptions) {
  const { logger } = options;
  return createVoteWatcher({
    ...options,
    contract: { address: options.derivationCourt, abi: DerivationCourtArtifact.abi as Abi },
    kind: "court",
    openedEvent: disputeOpenedEvent,
    outcomes: ["open", "derivative", "not a derivative", "no quorum"],
    async decide(log: OpenedLog) {
      const args = log.args as unknown as DisputeArgs;
      logger.info("drawn in a derivation dispute", { caseId: args.caseId, childId: args.childId, parentId: args.parentId });
      if (options.blindVote) {
        return { vote: options.blindVote === "fraud", reason: "blind", detail: `blind vote (${options.blindVote}): nothing was run` };
      }
      const [childPath, parentPath] = [await options.weights.find(args.childWeights), await options.weights.find(args.parentWeights)];
      const missing = [!childPath && `model #${args.childId} (${args.childWeights})`, !parentPath && `model #${args.parentId} (${args.parentWeights})`].filter(Boolean);
      if (missing.length > 0) {
        throw new GotongError(`This validator does not hold the weights of ${missing.join(" and ")}`, {
          code: "model_not_found",
          hint: "Pull both models into the validator's models folder (gotong model pull ID) to judge disputes about them.",
        });
      }
      const judgement = await judgeDerivation(parentPath!, childPath!, { ...options.judging, seed: args.caseId });
      return { vote: judgement.derivative, reason: judgement.reason, detail: judgement.detail, agreement: judgement.agreement };
    },
  });
}

export type DisputeWatcher = ReturnType<typeof createDisputeWatcher>;
