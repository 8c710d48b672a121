import { zeroAddress, type Address } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { chainTime } from "./chainTime.ts";
import { fundingContract } from "./fundingContract.ts";

/** How to set up a round. Durations are seconds; amounts are token base units. */
export type CreateRoundOptions = {
  /** The round's token. Default: the deployment's payment token (the one protocol fees are paid in). */
  token?: Address;
  /** When applications and donations open, unix seconds. Default: the chain's current time. */
  start?: bigint;
  /** How long donations stay open. Default 14 days. */
  donateFor?: bigint;
  /** How long applications stay open, from `start`; at most `donateFor`. Default: `donateFor`. */
  applyFor?: bigint;
  /** Seconds between applications opening and donations opening (a review period). Default 0. */
  donationsAfter?: bigint;
  /** The most one project's match can be, in basis points of (each part of) the pool. Default 10000 (no cap). */
  matchingCapBps?: number;
  /** The share of the pool matched by paid usage, in basis points. Default 0. */
  usageWeightBps?: number;
  /** The most of one donor's total per project that counts for matching. Default 0 (no cap). */
  donorCap?: bigint;
  /** Issuers whose attestations donors must hold (in `attestations`). Default none. */
  issuers?: Address[];
  /** The attestation registry. Default: the deployment's, when issuers are given. */
  attestations?: Address;
};

/**
 * Creates a quadratic-funding round operated by `clients`' account and returns its id.
 *
 * @example const roundId = await createRound(operator, deployment, { donateFor: 7n * 86400n, matchingCapBps: 2500 });
 */
export async function createRound(clients: ChainClients, deployment: Deployment, options: CreateRoundOptions = {}): Promise<bigint> {
  const qf = fundingContract(deployment);
  const start = options.start ?? (await chainTime(clients.public));
  const donateFor = options.donateFor ?? 14n * 86_400n;
  const donationsAfter = options.donationsAfter ?? 0n;
  const applyFor = options.applyFor ?? donationsAfter + donateFor;
  const issuers = options.issuers ?? [];
  const attestations = issuers.length === 0 ? zeroAddress : (options.attestations ?? deployment.attestationRegistry);
  if (!attestations) {
    throw new GotongError("This deployment has no attestation registry", { code: "funding_unavailable", hint: "Pass the registry's address explicitly." });
  }
  const params = {
    token: options.token ?? deployment.token.address,
    applicationStart: start,
    applicationEnd: start + applyFor,
    donationStart: start + donationsAfter,
    donationEnd: start + donationsAfter + donateFor,
    matchingCapBps: options.matchingCapBps ?? 10_000,
    usageWeightBps: options.usageWeightBps ?? 0,
    donorCap: options.donorCap ?? 0n,
    attestations,
    issuers,
  };
  const { result } = await writeAndWait(clients, { ...qf, functionName: "createRound", args: [params] });
  return result as bigint;
}
