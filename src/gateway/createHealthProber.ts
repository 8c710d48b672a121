import type { Logger } from "../common/logger.ts";
import type { ProviderHealthReader, ProviderStatus } from "./createProviderHealth.ts";
import type { Offer } from "./discoverOffers.ts";

/** Options of {@link createHealthProber}. */
export type HealthProberOptions = {
  health: Pick<ProviderHealthReader, "probe" | "statusOf">;
  /** The offers the gateway may route to (the router's, read from the chain). */
  offers(): Promise<Offer[]>;
  /** Time between two rounds of probes. Default 5 s. */
  intervalMs?: number;
  /** Probes in flight at once, so thousands of providers are not all asked in one burst. Default 16. */
  concurrency?: number;
  logger?: Logger;
};

/**
 * Probes the `/health` of every provider the gateway may route to, one round every `intervalMs`,
 * so a provider that vanished is marked dead (see createProviderHealth's `deadAfterMs`) without
 * waiting for a request to fail on it, and one that comes back is live again within a round. It
 * logs each provider that goes dead or comes back.
 *
 * @example
 * const prober = createHealthProber({ health, offers: async () => (await router.listModels()).flatMap((m) => m.offers) });
 * prober.start();
 * await prober.stop();
 */
export function createHealthProber(options: HealthProberOptions) {
  const intervalMs = options.intervalMs ?? 5_000;
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const last = new Map<string, ProviderStatus>();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let stopped = false;

  const probeAll = async () => {
    let offers: Offer[];
    try {
      offers = await options.offers();
    } catch (error) {
      options.logger?.debug("no offers to probe: the chain could not be read", { error: (error as Error).message });
      return;
    }
    // One probe per endpoint, whatever the number of models a provider offers.
    const byEndpoint = new Map<string, Offer>();
    for (const o of offers) if (!byEndpoint.has(o.endpoint)) byEndpoint.set(o.endpoint, o);
    const queue = [...byEndpoint.values()];
    const worker = async () => {
      for (let o = queue.shift(); o && !stopped; o = queue.shift()) {
        await options.health.probe(o).catch(() => undefined);
        const status = options.health.statusOf(o);
        const before = last.get(o.endpoint);
        if (status === "dead" && before !== "dead") options.logger?.warn("provider is not answering: dropped from routing", { provider: o.provider, endpoint: o.endpoint });
        if (before === "dead" && status !== "dead") options.logger?.info("provider is answering again", { provider: o.provider, endpoint: o.endpoint });
        last.set(o.endpoint, status);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    for (const endpoint of last.keys()) if (!byEndpoint.has(endpoint)) last.delete(endpoint);
  };
  const tick = () => {
    if (stopped) return;
    round ??= probeAll().finally(() => {
      round = undefined;
      if (!stopped) timer = setTimeout(tick, intervalMs).unref();
    });
  };

  return {
    /** Starts the rounds (the first at once). */
    start() {
      stopped = false;
      if (!timer && !round) tick();
    },
    /** Runs one round now and waits for it (tests, and a first view before serving). */
    async probeNow(): Promise<void> {
      await (round ?? probeAll());
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

export type HealthProber = ReturnType<typeof createHealthProber>;
