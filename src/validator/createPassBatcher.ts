import type { Address } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import type { Logger } from "../common/logger.ts";
import type { ValidatorStore } from "./createValidatorStore.ts";
import { ServingVerificationArtifact } from "../chain/contracts.generated.ts";

/**
 * Records the challenges this validator checked and found honest on-chain, in batches: one
 * `attestPasses(provider, count)` per provider every `intervalMs` and on stop, from the counts kept
 * in the store (so a crash loses none; a pass is taken off only once its attestation is mined).
 */
export function createPassBatcher(options: { clients: ChainClients; servingVerification: Address; store: ValidatorStore; logger: Logger; intervalMs?: number }) {
  const { clients, store, logger } = options;
  const intervalMs = options.intervalMs ?? 10 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<number> | undefined;

  const flushOnce = async (): Promise<number> => {
    let attested = 0;
    for (const { provider, count } of store.pendingPasses()) {
      try {
        await writeAndWait(clients, { address: options.servingVerification, abi: ServingVerificationArtifact.abi, functionName: "attestPasses", args: [provider, BigInt(count)] });
        store.passesAttested(provider, count);
        attested += count;
        logger.info("passes attested", { provider, count });
      } catch (error) {
        logger.warn("could not attest passes; kept for the next batch", { provider, count, error: error as Error });
      }
    }
    return attested;
  };

  /** Attests every pending pass now; resolves with how many were attested. */
  const flush = (): Promise<number> => (flushing ??= flushOnce().finally(() => (flushing = undefined)));

  return {
    /** Counts an honest verdict on `evidence` for `provider` (replayed evidence counts once). */
    add(provider: Address, evidence: `0x${string}`): void {
      store.addPass(provider, evidence);
    },
    flush,
    start() {
      timer = setInterval(() => void flush(), intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await flushing;
      await flush();
    },
  };
}
