import { isAddressEqual, type Address } from "viem";
import { BATCH_SETTLEMENT_SCHEME, MAX_WITHDRAW_DELAY, MIN_WITHDRAW_DELAY } from "../../protocol/x402/batchSettlement.ts";
import type { PaymentRequirements } from "../../protocol/x402/x402Types.ts";

/** What the gateway knows by itself about one offer and one request, to judge a provider's `accepts` entry. */
export type ExpectedRequirements = {
  /** CAIP-2 network of this chain (`eip155:<chainId>`). */
  network: string;
  /** The deployment's payment token. */
  token: Address;
  /** X402Splitter's payee of (provider, model): the only `payTo` (and channel receiver) allowed. */
  payee: Address;
  /** The offer's provider: the only `receiverAuthorizer` a batch-settlement channel may name. */
  provider: Address;
  /** The gateway's own bound on what the request may cost at the offer's registered price. */
  maxCost: bigint;
  /** Whether the batch-settlement contracts are at their canonical addresses on this chain. */
  batchSettlement: boolean;
};

const isAddress = (value: unknown): value is Address => typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value);

/**
 * Whether a provider's `accepts` entry is one the gateway lets a client pay: `exact` or
 * `batch-settlement` on this chain, in the deployment's token, to the offer's X402Splitter payee (so
 * whatever is paid, or claimed from a channel, is split on chain), for at most the gateway's bound.
 * A `batch-settlement` entry also needs the canonical contracts on this chain (the published client
 * deposits to them by their fixed address, which no requirement names), the provider's own key as
 * `receiverAuthorizer` (the key the provider checks a channel against and signs its claims with) and
 * a withdraw delay the contract allows.
 *
 * @returns Why not, or undefined when it is acceptable.
 * @example requirementsObjection(provider402.accepts[0], { network, token, payee, provider, maxCost, batchSettlement: true })
 */
export function requirementsObjection(requirements: PaymentRequirements, expected: ExpectedRequirements): string | undefined {
  const { scheme } = requirements;
  if (scheme !== "exact" && scheme !== BATCH_SETTLEMENT_SCHEME) return `its scheme is "${scheme}", not "exact" or "${BATCH_SETTLEMENT_SCHEME}"`;
  if (requirements.network !== expected.network) return `it is paid on ${requirements.network}, not ${expected.network}`;
  if (!isAddress(requirements.asset) || !isAddressEqual(requirements.asset, expected.token)) return `it is paid in ${requirements.asset}, not the deployment's token ${expected.token}`;
  if (!isAddress(requirements.payTo) || !isAddressEqual(requirements.payTo, expected.payee)) return `its payTo ${requirements.payTo} is not X402Splitter's payee ${expected.payee} for this provider and model`;
  if (BigInt(requirements.amount) > expected.maxCost) return `it asks ${requirements.amount} base units, more than this request can cost at the offer's price (${expected.maxCost})`;
  if (scheme === "exact") return undefined;
  if (!expected.batchSettlement) return `${BATCH_SETTLEMENT_SCHEME} is offered, but its contracts are not at their canonical addresses on this chain`;
  const receiverAuthorizer = requirements.extra?.receiverAuthorizer;
  if (!isAddress(receiverAuthorizer) || !isAddressEqual(receiverAuthorizer, expected.provider)) return `its receiverAuthorizer ${String(receiverAuthorizer)} is not the provider ${expected.provider}`;
  const withdrawDelay = requirements.extra?.withdrawDelay;
  // The published client takes 900 s when none is given; the contract refuses a channel outside these bounds.
  if (withdrawDelay !== undefined && (typeof withdrawDelay !== "number" || !Number.isInteger(withdrawDelay) || withdrawDelay < MIN_WITHDRAW_DELAY || withdrawDelay > MAX_WITHDRAW_DELAY)) {
    return `its withdrawDelay ${String(withdrawDelay)} is not a whole number of seconds from ${MIN_WITHDRAW_DELAY} to ${MAX_WITHDRAW_DELAY}`;
  }
  return undefined;
}
