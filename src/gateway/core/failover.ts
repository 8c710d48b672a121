import type { Address } from "viem";
import { GotongError } from "../../common/errors.ts";
import type { Logger } from "../../common/logger.ts";
import type { Offer } from "../discoverOffers.ts";
import { noProviderAvailable, requestCancelled } from "./errors.ts";
import type { Attempt, Job, Served } from "./types.ts";

/**
 * Tries each offer in turn (cheapest, fastest first: the router's order) until one serves the job.
 * A provider that cannot take it is passed over for the reason its attempt gave; when none could,
 * the error says why: busy everywhere (429), only a closing channel in the way, only providers of
 * another protocol version, or `no_provider_available` naming each one tried.
 *
 * @param attempt One try at one provider (see attemptProvider).
 * @throws GotongError `cancelled` when the job's signal aborted; what an attempt threw (a
 *   ProviderRefusal, a refused receipt), which another provider would meet too.
 * @example const served = await failover((offer, job) => attemptProvider(deps, offer, job), logger, "m", offers, job);
 */
export async function failover(attempt: (offer: Offer, job: Job) => Promise<Attempt>, logger: Logger, model: string, offers: readonly Offer[], job: Job): Promise<Served> {
  const tried: { provider: Address; error: GotongError }[] = [];
  let lastError: GotongError | undefined;
  let busy: GotongError | undefined;
  for (const offer of offers) {
    if (job.signal.aborted) throw requestCancelled();
    let result: Attempt;
    try {
      result = await attempt(offer, job);
    } catch (error) {
      if (job.signal.aborted) throw requestCancelled();
      throw error;
    }
    if ("served" in result) return result.served;
    if (job.signal.aborted) throw requestCancelled();
    tried.push({ provider: offer.provider, error: result.next });
    if (result.next.code === "too_many_requests") {
      busy = result.next; // this provider's queue is full here: another provider may have room
      continue;
    }
    lastError = result.next;
    logger.warn("provider failed, trying the next", { provider: offer.provider, code: result.next.code, error: result.next.message });
  }
  if (busy && lastError === undefined) throw busy;
  // Only a closing channel stood in the way: say so (and when), not "no provider".
  if (lastError?.code === "channel_closing") throw lastError;
  // Providers that speak another version of the protocol: say which side to upgrade. A 502, not
  // the version check's 400: the client's request is fine, the providers are not.
  if (lastError?.code === "protocol_version_mismatch") {
    throw new GotongError(`No provider of "${model}" could serve the request: ${lastError.message}`, { code: "protocol_version_mismatch", status: 502, hint: lastError.hint, cause: lastError });
  }
  throw noProviderAvailable(model, tried, lastError);
}
