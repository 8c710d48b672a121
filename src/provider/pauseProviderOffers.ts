import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import type { Logger } from "../common/logger.ts";

/**
 * Marks this provider's offers paused on-chain (`ProviderRegistry.setPaused(true)`, one storage
 * write whatever the number of offers): gateways stop listing and routing to it at the next block
 * they read, and no channel can be opened to it, while the channels open stay redeemable. The
 * next start resumes them (ensureProviderRegistered). Best effort and bounded: a stop never hangs
 * on a chain that is gone (gateways then find out by probing its `/health`).
 *
 * @returns Whether the pause was mined.
 */
export async function pauseProviderOffers(clients: ChainClients, deployment: Deployment, options: { timeoutMs?: number; logger?: Logger } = {}): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no receipt within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([writeAndWait(clients, { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "setPaused", args: [true] }), timeout]);
    options.logger?.info("offers paused on-chain");
    return true;
  } catch (error) {
    options.logger?.warn("could not pause the offers on-chain; gateways will drop this provider when its /health stops answering", { error: (error as Error).message });
    return false;
  } finally {
    clearTimeout(timer);
  }
}
