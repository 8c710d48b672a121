import type { Address, Hex } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import type { Deployment } from "../../chain/deployment.ts";
import type { Logger } from "../../common/logger.ts";
import { createChallenge } from "../../verification/challengePrompts.ts";
import { checkEvidence, hashEvidenceReceipt } from "../../verification/evidence.ts";
import type { Gateway } from "../core/createGateway.ts";
import type { ProviderInfo } from "../createProviderInfo.ts";
import { askValidators } from "./askValidator.ts";
import { createChallenger, type Challenger } from "./createChallenger.ts";
import { reportFraud } from "./reportFraud.ts";
import { ServingVerificationArtifact } from "../../chain/contracts.generated.ts";

/**
 * The default steady share of challenges: one after about every 170th real request a provider
 * serves, once this gateway has seen it for NEWCOMER_REQUESTS requests. bench/verificationCost.ts
 * measured a challenge's traffic and its validator's re-run at about 2.6 × the share of spend, so
 * 0.006 keeps verification near 1.6% of spend (the goal is 2%).
 */
export const DEFAULT_CHALLENGE_SHARE = 0.006;
/** The default share for a provider and model's first NEWCOMER_REQUESTS requests through a gateway: one in twenty. */
export const DEFAULT_NEWCOMER_CHALLENGE_SHARE = 0.05;
/**
 * How many real requests to a provider and model a gateway follows at the newcomer share. At 5%
 * over 200 requests a provider that cheats from its first request escapes with probability
 * 0.95^200 ≈ 0.00004 (when every challenge of its cheat is caught); the steady share then catches
 * one that starts later with 95% probability within about 500 requests. The count is this
 * gateway's own, in memory: a restarted gateway treats every provider as new again.
 */
export const NEWCOMER_REQUESTS = 200;
/** How long the validators registered on-chain are reused before they are read again. */
const VALIDATORS_TTL_MS = 60_000;

/** Options of {@link startChallenges}. */
export type ChallengesOptions = {
  /** Chance a real request draws a challenge, once the provider is no newcomer. Default DEFAULT_CHALLENGE_SHARE; 0 turns challenges off. */
  share?: number;
  /** The share for a provider and model's first NEWCOMER_REQUESTS requests. Default DEFAULT_NEWCOMER_CHALLENGE_SHARE (never below `share`). */
  newcomerShare?: number;
  /** Validators' base URLs (`--validator`), asked before those registered on-chain with an endpoint. */
  validators?: readonly string[];
  /** Longest wait between a real request and its challenge (createChallenger's `maxDelayMs`). */
  maxDelayMs?: number;
  clients: ChainClients;
  deployment: Deployment & { servingVerification?: Address };
  domain: { chainId: number; verifyingContract: Address };
  providerInfo: ProviderInfo;
  logger: Logger;
  /** Told after a fraud report went on-chain (the router's records are read again). */
  onReported?: (provider: Address) => void;
};

/**
 * The gateway's challenger wired to the chain: challenges drawn by createChallenge, evidence
 * checked in the PaymentChannels domain, validators from `--validator` and ServingVerification's
 * registered endpoints, fraud reported to ServingVerification from the gateway's own account. Sent
 * through the core once `attach` has given it one. Undefined (and logged) when challenges are off:
 * a share of 0, or a deployment without ServingVerification and no `--validator` (nobody to ask).
 * With validators but no ServingVerification, fraud verdicts are logged, not reported.
 *
 * @example
 * const challenges = startChallenges({ clients, deployment, domain, providerInfo, logger });
 * const gateway = createGateway({ …, onServed: challenges?.observe });
 * challenges?.attach(gateway);
 */
export function startChallenges(options: ChallengesOptions): (Challenger & { attach(gateway: Pick<Gateway, "sendOwn">): void }) | undefined {
  const { clients, deployment, logger } = options;
  const share = options.share ?? DEFAULT_CHALLENGE_SHARE;
  const verification = deployment.servingVerification;
  if (share === 0) {
    logger.info("challenges off (--challenge-share 0)");
    return undefined;
  }
  const flagged = [...(options.validators ?? [])];
  if (!verification && flagged.length === 0) {
    logger.info("challenges off: no --validator, and the deployment has no ServingVerification (where validators register)");
    return undefined;
  }
  let registered: { at: number; urls: string[] } | undefined;
  /** `--validator` URLs first, then the endpoints validators registered on-chain (read once a minute). */
  const validators = async (): Promise<string[]> => {
    if (!verification) return flagged;
    if (!registered || Date.now() - registered.at > VALIDATORS_TTL_MS) {
      const urls = await readValidatorEndpoints(clients, verification).catch((error: unknown) => {
        logger.debug("could not read the validators registered on-chain", { error: (error as Error).message });
        return registered?.urls ?? [];
      });
      registered = { at: Date.now(), urls };
    }
    return [...new Set([...flagged, ...registered.urls])];
  };
  let core: Pick<Gateway, "sendOwn"> | undefined;
  const challenger = createChallenger({
    share,
    newcomer: { share: options.newcomerShare ?? DEFAULT_NEWCOMER_CHALLENGE_SHARE, requests: NEWCOMER_REQUESTS },
    challengeFor: (model) => createChallenge(model),
    modelInfoOf: async (offer) => ({ contextSize: await options.providerInfo.contextSizeOf(offer).catch(() => undefined) }),
    send: (offer, request) => {
      if (!core) throw new Error("the challenger has no gateway core to send through yet");
      return core.sendOwn(offer, request);
    },
    hasValidators: async () => (await validators()).length > 0,
    checkEvidence: (evidence) => checkEvidence(evidence, options.domain),
    validate: async (evidence, attempt) => askValidators(await validators(), evidence, attempt),
    caseIdOf: (evidence) => hashEvidenceReceipt(evidence, options.domain),
    report: verification ? (evidence, caseId: Hex) => reportFraud(clients, verification, deployment.token.address, evidence, caseId) : undefined,
    onReported: (provider) => options.onReported?.(provider),
    maxDelayMs: options.maxDelayMs,
    logger,
  });
  logger.info("challenges on", { share, newcomerShare: Math.max(share, options.newcomerShare ?? DEFAULT_NEWCOMER_CHALLENGE_SHARE), newcomerRequests: NEWCOMER_REQUESTS, validators: flagged.length ? flagged : "registered on-chain", ...(verification ? {} : { reporting: "off: no ServingVerification on this deployment" }) });
  return { ...challenger, attach: (gateway) => void (core = gateway) };
}

/** The HTTP endpoints the active validators registered on ServingVerification (those that set one). */
async function readValidatorEndpoints(clients: ChainClients, verification: Address): Promise<string[]> {
  const accounts = await clients.public.readContract({ address: verification, abi: ServingVerificationArtifact.abi, functionName: "validators" });
  const endpoints = await Promise.all(accounts.map((v) => clients.public.readContract({ address: verification, abi: ServingVerificationArtifact.abi, functionName: "validatorEndpoint", args: [v] })));
  return endpoints.filter((e) => /^https?:\/\//.test(e));
}
