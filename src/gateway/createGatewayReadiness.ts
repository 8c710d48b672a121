import type { PublicClient } from "viem";
import { createReadiness, type Readiness } from "../common/createReadiness.ts";

export type GatewayReadinessOptions = {
  client: PublicClient;
  /** Its store; `checkWritable` commits a write and throws when it cannot. */
  store: { checkWritable(): void };
  /** Where it reads offers from: the router (which reuses them for its own refresh time). */
  router: { listModels(): Promise<{ offers: unknown[] }[]> };
  /** How long the chain's answers (reachable, offers) are reused. Default 2 s. */
  chainCacheMs?: number;
  /** How long the store's answer is reused (each check is a committed write). Default 1 s. */
  storeCacheMs?: number;
};

/**
 * What a gateway must have to take requests, as `GET /health` reports it: the chain reachable, its
 * store writable (every receipt and what a channel has spent go there), and the offers readable.
 *
 * @example
 * const readiness = createGatewayReadiness({ client, store, router });
 * (await readiness.check()).checks.offers // { ok: true, models: 1, offers: 2 }
 */
export function createGatewayReadiness(options: GatewayReadinessOptions): Readiness {
  const chainCacheMs = options.chainCacheMs ?? 2_000;
  return createReadiness({
    chain: {
      cacheMs: chainCacheMs,
      run: async () => ({ blockNumber: await options.client.getBlockNumber({ cacheTime: 0 }) }),
    },
    store: {
      cacheMs: options.storeCacheMs ?? 1_000,
      run: () => options.store.checkWritable(),
    },
    offers: {
      cacheMs: chainCacheMs,
      run: async () => {
        const models = await options.router.listModels();
        return { models: models.length, offers: models.reduce((sum, m) => sum + m.offers.length, 0) };
      },
    },
  });
}
