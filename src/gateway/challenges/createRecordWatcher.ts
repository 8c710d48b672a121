import type { Address, PublicClient } from "viem";
import type { Logger } from "../../common/logger.ts";
import type { ProviderRecord } from "./providerRecord.ts";
import { ServingVerificationArtifact } from "../../chain/contracts.generated.ts";

/** Options of {@link createRecordWatcher}. */
export type RecordWatcherOptions = {
  /** Reads one provider's record (see readProviderRecord). */
  read(provider: Address): Promise<ProviderRecord>;
  /** The providers the gateway may route to (discovery's offers). */
  providers(): Promise<Address[]>;
  /** Time between two rounds of reads. Default 5 s, like the health probes. */
  intervalMs?: number;
  logger?: Logger;
};

/**
 * Keeps every routable provider's verification record from ServingVerification at hand for the
 * router, which reads it synchronously on every request (`recordOf`): one round of reads every
 * `intervalMs`, like the health probes, so a provider suspended for fraud stops getting traffic
 * within a round, and no request waits for an RPC. A read that fails keeps the last record known.
 * It logs each provider that becomes suspended, and each change in a provider's failed challenges.
 *
 * @example
 * const records = createRecordWatcher({ read: (p) => readProviderRecord(client, address, p), providers });
 * records.start();
 * createRouter({ loadOffers, recordOf: records.recordOf });
 */
export function createRecordWatcher(options: RecordWatcherOptions) {
  const intervalMs = options.intervalMs ?? 5_000;
  const records = new Map<string, ProviderRecord>();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let stopped = false;

  const readAll = async () => {
    let providers: Address[];
    try {
      providers = [...new Set(await options.providers())];
    } catch (error) {
      options.logger?.debug("no providers to read records of: the chain could not be read", { error: (error as Error).message });
      return;
    }
    await Promise.all(
      providers.map(async (provider) => {
        let record: ProviderRecord;
        try {
          record = await options.read(provider);
        } catch (error) {
          options.logger?.debug("could not read a provider's verification record; the last one stays", { provider, error: (error as Error).message });
          return;
        }
        const key = provider.toLowerCase();
        const before = records.get(key);
        if (record.suspended && !before?.suspended) options.logger?.warn("provider suspended for fraud on-chain: no longer routed to", { provider, slashed: record.slashed.toString() });
        if (before && record.challengesFailed !== before.challengesFailed) options.logger?.warn("provider failed a challenge on-chain", { provider, challengesFailed: record.challengesFailed.toString() });
        records.set(key, record);
      }),
    );
  };
  const tick = () => {
    if (stopped) return;
    round ??= readAll().finally(() => {
      round = undefined;
      if (!stopped) timer = setTimeout(tick, intervalMs).unref();
    });
  };

  return {
    /** The record last read for `provider`; undefined before its first read. */
    recordOf: (provider: Address): ProviderRecord | undefined => records.get(provider.toLowerCase()),
    /** Starts the rounds (the first at once). */
    start() {
      stopped = false;
      if (!timer && !round) tick();
    },
    /** Runs one round now and waits for it (tests, and right after a verdict). */
    async refreshNow(): Promise<void> {
      await (round ?? readAll());
    },
    /** Stops the rounds and waits for the one under way. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await round;
    },
  };
}

/** What {@link createRecordWatcher} gives. */
export type RecordWatcher = ReturnType<typeof createRecordWatcher>;

/**
 * Reads one provider's verification record from ServingVerification (`providerRecord`).
 *
 * @example const record = await readProviderRecord(client, deployment.servingVerification, provider);
 */
export async function readProviderRecord(client: Pick<PublicClient, "readContract">, servingVerification: Address, provider: Address): Promise<ProviderRecord> {
  const [challengesPassed, challengesFailed, slashed, suspended] = await client.readContract({
    address: servingVerification,
    abi: ServingVerificationArtifact.abi,
    functionName: "providerRecord",
    args: [provider],
  });
  return { challengesPassed, challengesFailed, slashed, suspended };
}
