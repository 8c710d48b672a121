import type { IncomingMessage } from "node:http";
import { GotongError } from "../../common/errors.ts";
import { formatDuration } from "../../common/parseDuration.ts";
import { HEADERS } from "../../protocol/wire.ts";
import { hashApiKey, maskApiKey, sameHash } from "./apiKeySecret.ts";
import { BudgetExceeded, keyRevoked, type ApiKeyStore } from "./createApiKeyStore.ts";
import { createRateLimiter } from "./createRateLimiter.ts";

/** The key a request was authorized with. */
export type AuthorizedKey = { id: string; name: string };

export type ApiKeyAuthorizerOptions = {
  /** Amounts in errors, e.g. `"1.5 gUSD"`. Default: base units. */
  formatAmount?: (units: bigint) => string;
  /** The clock (ms since the epoch). Default `Date.now`. */
  now?: () => number;
};

const missingKey = () =>
  new GotongError("You didn't provide an API key. This gateway requires one in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY)", {
    code: "missing_api_key",
    status: 401,
    type: "invalid_request_error",
    hint: "Ask the gateway's operator for a key (`gotong gateway key create`).",
  });

const wrongKey = (given: string) =>
  new GotongError(`Incorrect API key provided: ${maskApiKey(given)}`, {
    code: "invalid_api_key",
    status: 401,
    type: "invalid_request_error",
    hint: "Check the key, or ask the gateway's operator for a new one.",
  });

/**
 * The gate of a gateway that serves others (`gotong gateway start --keys`): who may call it (a
 * Bearer key it issued, looked up by hash and compared in constant time), how often (requests per
 * rolling minute), and how much each may spend (a worst-case hold against the key's budget for the
 * period before each provider request is sent, see createApiKeyStore). Keys are read from the store
 * on every request, so keys created or revoked by the CLI apply at once.
 *
 * @example const keys = createApiKeyAuthorizer(store.apiKeys); const key = keys.authorize(req, { spends: true });
 */
export function createApiKeyAuthorizer(keys: ApiKeyStore, options: ApiKeyAuthorizerOptions = {}) {
  const now = options.now ?? Date.now;
  const format = options.formatAmount ?? ((units: bigint) => `${units} base units`);
  const limiter = createRateLimiter();

  return {
    /**
     * The key `req` carries, refused with 401 when it has none or one this gateway does not know
     * (or revoked), and with 429 `rate_limit_exceeded` (and Retry-After) when `spends` and the key
     * has made its requests per minute already.
     */
    authorize(req: IncomingMessage, use: { spends: boolean }): AuthorizedKey {
      const header = req.headers.authorization;
      if (!header?.trim()) throw missingKey();
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw wrongKey(header.replace(/^\S+\s+/, ""));
      const given = match[1]!;
      const hash = hashApiKey(given);
      const record = keys.findByHash(hash);
      if (!record || !sameHash(record.keyHash, hash)) throw wrongKey(given);
      if (record.revokedAt !== undefined) throw keyRevoked(record.id);
      if (use.spends) {
        const waitMs = limiter.take(record.id, record.rpm, now());
        if (waitMs !== undefined) {
          const seconds = Math.max(1, Math.ceil(waitMs / 1000));
          throw new GotongError(`Rate limit reached for API key ${record.id}: ${record.rpm} requests per minute. Try again in ${seconds} s`, {
            code: "rate_limit_exceeded",
            status: 429,
            type: "requests",
            retryable: true,
            headers: { "retry-after": String(seconds), "x-ratelimit-limit-requests": String(record.rpm), "x-ratelimit-remaining-requests": "0" },
            hint: "Send fewer requests per minute, or ask the operator for a higher --rpm.",
          });
        }
      }
      return { id: record.id, name: record.name };
    },

    /**
     * Holds `maxCost` of `key`'s budget for provider request `requestId` before it is sent; the
     * gateway store settles the hold to the receipt's cost, or lets it go if nothing is paid.
     * @throws GotongError 429 `insufficient_quota` naming the budget, what is spent and when it resets.
     */
    reserve(key: AuthorizedKey, requestId: string, maxCost: bigint): void {
      const at = now();
      try {
        keys.reserve(key.id, requestId, maxCost, at);
      } catch (error) {
        if (!(error instanceof BudgetExceeded)) throw error;
        const u = error.usage;
        const held = u.reserved > 0n ? ` (and ${format(u.reserved)} held by requests in flight)` : "";
        const resetsIn = Math.max(1, Math.ceil((u.periodEnd - at) / 1000));
        const resets = new Date(u.periodEnd).toISOString();
        throw new GotongError(
          `You exceeded the budget of API key ${u.id}: ${format(u.spent)} of ${format(u.budget)} spent this period${held}, and this request may cost up to ${format(maxCost)}. The budget resets at ${resets} (in ${formatDuration(resetsIn)})`,
          {
            code: "insufficient_quota",
            status: 429,
            type: "insufficient_quota",
            // Retrying soon cannot help: say when it can (and tell the OpenAI SDKs not to retry).
            headers: {
              "retry-after": String(resetsIn),
              "x-should-retry": "false",
              [HEADERS.budget]: u.budget.toString(),
              [HEADERS.budgetSpent]: u.spent.toString(),
              [HEADERS.budgetResets]: resets,
              [HEADERS.requestMaxCost]: maxCost.toString(),
            },
            hint: "Ask for fewer tokens (max_tokens lowers a request's worst case), wait for the reset, or ask the operator for a larger --budget.",
            cause: error,
          },
        );
      }
    },
  };
}

export type ApiKeyAuthorizer = ReturnType<typeof createApiKeyAuthorizer>;
