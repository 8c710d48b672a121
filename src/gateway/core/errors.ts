import type { Address, Hex } from "viem";
import { GotongError, type GotongErrorCode } from "../../common/errors.ts";
import { gotongErrorCodeOf } from "../../protocol/errorCodes.ts";

/**
 * A provider refused the request itself (a 4xx other than payment or load: a bad parameter, a
 * prompt too long): any other provider would say the same, so there is no failover. `body` is the
 * provider's own error body, which the HTTP adapter passes on as it came.
 */
export class ProviderRefusal extends GotongError {
  /** The provider's error body (OpenAI-shaped). */
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    const error = (body as { error?: { message?: unknown; code?: unknown; param?: unknown } } | undefined)?.error;
    super(typeof error?.message === "string" ? error.message : `Provider answered ${status}`, {
      code: gotongErrorCodeOf(error?.code, "upstream_error"),
      status,
      param: typeof error?.param === "string" ? error.param : undefined,
    });
    this.name = "ProviderRefusal";
    this.body = body;
  }
}

/** The caller left (its AbortSignal aborted) before any provider answered: nothing was relayed. */
export const requestCancelled = () => new GotongError("The request was cancelled before a provider answered", { code: "cancelled", status: 499 });

/** A sealed relay for a request id that was never prepared, has expired, or was relayed already. */
export const relayNotPrepared = (requestId: Hex) =>
  new GotongError(`No prepared request ${requestId}`, { code: "relay_not_prepared", status: 404, hint: "POST /gotong/relay/prepare first, then seal to the provider it names." });

/** The one provider a sealed request can go to could not take it. */
export const providerUnavailable = (provider: string, cause: unknown) =>
  new GotongError(`Provider ${provider} could not take the request`, { code: "provider_unavailable", status: 503, retryable: true, hint: "Prepare again: another provider may be chosen.", cause });

/**
 * Why a provider was passed over and the next one tried: a 503 the caller may retry, as each reason
 * is about that provider, not the request. The message says what happened at that provider.
 */
export const providerSkipped = (code: GotongErrorCode, message: string, cause?: unknown) => new GotongError(message, { code, status: 503, retryable: true, cause });

/** Every provider of `model` was tried and passed over: the hint names each with its code and reason. */
export const noProviderAvailable = (model: string, tried: readonly { provider: Address; error: GotongError }[], lastError: GotongError | undefined) =>
  new GotongError(`No provider of "${model}" could serve the request`, {
    code: "no_provider_available",
    status: 503,
    retryable: true,
    hint: tried.length ? `Tried ${tried.map(({ provider, error }) => `${provider} (${error.code}: ${error.message})`).join("; ")}.` : "No provider offers it now.",
    cause: lastError,
  });

/** The message of anything thrown, for a reason that names its cause. */
/**
 * An error's message; for an abort, the reason it was aborted for (node's HTTP client rejects
 * with a bare "The operation was aborted" and keeps the reason as its `cause`).
 */
export const messageOf = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "AbortError" && error.cause instanceof Error) return messageOf(error.cause);
  return error.message;
};
