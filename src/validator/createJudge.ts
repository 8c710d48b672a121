import type { Hex } from "viem";
import { GotongError } from "../common/errors.ts";
import type { VoucherDomain } from "../protocol/voucher.ts";
import type { Evidence, Verdict, Verifier } from "../verification/index.ts";

/** Re-runs evidence on whichever loaded model the receipt names. */
export type Judge = {
  /** The weights hashes this validator holds. */
  readonly weightsHashes: readonly Hex[];
  /** Whether it can judge evidence for these weights. */
  holds(weightsHash: Hex): boolean;
  /** The verdict on evidence (signature and hashes checked first); throws `model_not_found` for weights it does not hold. */
  judge(evidence: Evidence): Promise<Verdict>;
  dispose(): Promise<void>;
};

/**
 * A vote cast without running anything: only for tests of what the network does with a validator
 * that does not do its work (copying, or lazily always voting one way).
 */
export type BlindVote = "fraud" | "honest";

/**
 * Makes a judge over loaded verifiers (one per weights hash). With `blindVote`, every verdict is
 * that vote without a re-run, and it says so in its detail.
 */
export function createJudge(options: { verifiers: ReadonlyMap<string, Verifier>; domain: VoucherDomain; blindVote?: BlindVote; tolerance?: number }): Judge {
  const { verifiers, domain, blindVote, tolerance } = options;
  const find = (weightsHash: Hex) => verifiers.get(weightsHash.toLowerCase());
  return {
    weightsHashes: [...verifiers.keys()] as Hex[],
    holds: (weightsHash) => blindVote !== undefined || find(weightsHash) !== undefined,
    async judge(evidence) {
      if (blindVote) {
        return { fraud: blindVote === "fraud", reason: blindVote === "fraud" ? "different_output" : "ok", agreement: blindVote === "fraud" ? 0 : 1, positions: 0, detail: `blind vote (--blind-vote ${blindVote}): nothing was re-run` };
      }
      const verifier = find(evidence.receipt.weightsHash);
      if (!verifier) {
        throw new GotongError(`This validator does not hold the weights ${evidence.receipt.weightsHash} the receipt names`, {
          code: "model_not_found",
          status: 404,
          param: "receipt.weightsHash",
          hint: `It validates ${[...verifiers.keys()].join(", ") || "no model"}. Ask a validator that holds these weights.`,
        });
      }
      return verifier.verify(evidence, { domain, tolerance });
    },
    async dispose() {
      await Promise.all([...verifiers.values()].map((v) => v.dispose()));
    },
  };
}
