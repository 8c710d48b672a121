import type { Address } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import type { Logger } from "../common/logger.ts";
import type { PendingPasses, ValidatorStore } from "./createValidatorStore.ts";
import { ServingVerificationArtifact } from "../chain/contracts.generated.ts";

/** How often the batcher looks for passes due: 10 minutes. */
export const DEFAULT_ATTEST_INTERVAL_MS = 10 * 60_000;
/**
 * A provider's passes are attested once this many are pending: one `attestPasses` costs about
 * 43,000 gas whatever its count, so the gas per pass is at most a fiftieth of that (bench/
 * verificationCost.ts turns it into a share of spend).
 */
export const DEFAULT_ATTEST_MIN_PASSES = 50;
/** …or once the oldest pending one is this old, so a quiet provider's record still grows daily. */
export const DEFAULT_ATTEST_MAX_AGE_MS = 24 * 60 * 60_000;

export type PassBatcherOptions = {
  clients: ChainClients;
  servingVerification: Address;
  store: ValidatorStore;
  logger: Logger;
  /** How often to look for passes due (default 10 minutes). */
  intervalMs?: number;
  /** Pending passes of one provider that make an attestation due (default 50). */
  minPasses?: number;
  /** Age of a provider's oldest pending pass that makes an attestation due (default 24 h). */
  maxAgeMs?: number;
  now?: () => number;
};

/**
 * Records the challenges this validator checked and found honest on-chain, in batches: one
 * `attestPasses(provider, count)` per provider once its pending passes reach `minPasses` or the
 * oldest is `maxAgeMs` old, looked for every `intervalMs`. The counts are kept in the store, so a
 * crash or a stop loses none: passes not yet due when the validator stops wait for its next start
 * (attesting them on every stop would cost a transaction per provider per restart). A pass is taken
 * off only once its attestation is mined.
 */
export function createPassBatcher(options: PassBatcherOptions) {
  const { clients, store, logger } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_ATTEST_INTERVAL_MS;
  const minPasses = options.minPasses ?? DEFAULT_ATTEST_MIN_PASSES;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_ATTEST_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<number> | undefined;

  const isDue = (p: PendingPasses) => p.count >= minPasses || now() - p.since >= maxAgeMs;

  const attest = async (which: (p: PendingPasses) => boolean): Promise<number> => {
    let attested = 0;
    for (const { provider, count } of store.pendingPasses().filter(which)) {
      try {
        await writeAndWait(clients, { address: options.servingVerification, abi: ServingVerificationArtifact.abi, functionName: "attestPasses", args: [provider, BigInt(count)] });
        store.passesAttested(provider, count, now());
        attested += count;
        logger.info("passes attested", { provider, count });
      } catch (error) {
        logger.warn("could not attest passes; kept for the next batch", { provider, count, error: error as Error });
      }
    }
    return attested;
  };

  // One attestation run at a time: a tick during a run waits for it rather than sending twice.
  const run = (which: (p: PendingPasses) => boolean): Promise<number> => {
    // A run that failed (the store could not be read) does not stop the next one.
    const next = (flushing ?? Promise.resolve(0)).catch(() => 0).then(() => attest(which));
    const mine = next.finally(() => {
      if (flushing === mine) flushing = undefined;
    });
    flushing = mine;
    return mine;
  };

  return {
    /** Counts an honest verdict on `evidence` for `provider` (replayed evidence counts once). */
    add(provider: Address, evidence: `0x${string}`): void {
      store.addPass(provider, evidence, now());
    },
    /** Attests the passes that are due (by count or age); resolves with how many were attested. */
    attestDue: (): Promise<number> => run(isDue),
    /** Attests every pending pass now, due or not; resolves with how many were attested. */
    flush: (): Promise<number> => run(() => true),
    start() {
      const tick = () => void run(isDue).catch((error: Error) => logger.warn("could not read the passes due", { error }));
      timer = setInterval(tick, intervalMs);
      timer.unref();
      // Passes that came due while the validator was stopped go at start, not a tick later.
      tick();
    },
    async stop() {
      clearInterval(timer);
      await flushing;
    },
  };
}
