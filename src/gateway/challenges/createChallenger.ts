import { randomInt } from "node:crypto";
import type { Address, Hex } from "viem";
import { isGotongError } from "../../common/errors.ts";
import type { Logger } from "../../common/logger.ts";
import type { Challenge, ChallengeModelInfo } from "../../verification/challengePrompts.ts";
import type { Evidence, EvidenceCheck } from "../../verification/evidence.ts";
import type { OwnRequest, ServedRequest } from "../core/createGateway.ts";
import type { Offer } from "../discoverOffers.ts";
import type { ValidatorVerdict } from "./askValidator.ts";
import { collectAnswer } from "./collectAnswer.ts";
import type { ReportOutcome } from "./reportFraud.ts";

/** Options of {@link createChallenger}: how often to challenge, and the steps it takes (each replaceable in tests). */
export type ChallengerOptions = {
  /** Chance, after each real request a provider serves, that one challenge follows for the same provider and model. 0 disables. */
  share: number;
  /**
   * A higher share for a provider and model this gateway has seen little of: its first `requests`
   * real requests are followed with probability `share` (never below the steady `share` above).
   * Most of a network's traffic goes to providers it has served for long, so their steady share
   * sets what verification costs, while a new provider, or one back under a new key, is checked
   * hard from its first request. Default: none (the steady share throughout).
   */
  newcomer?: { share: number; requests: number };
  /** Draws a challenge for a model as its real traffic names it (createChallenge). */
  challengeFor(model: ChallengeModelInfo): Challenge;
  /** What is known of the model behind an offer beyond its real traffic (its context size). Default: nothing. */
  modelInfoOf?: (offer: Offer) => Promise<Partial<ChallengeModelInfo>>;
  /** Sends the gateway's own request through its core (Gateway.sendOwn). */
  send(offer: Offer, request: { api: "chat" | "completions"; body: Record<string, unknown>; raw: Uint8Array }): Promise<OwnRequest>;
  /** Whether any validator can be asked now: when not, no challenge is sent (it would be money spent for nothing). */
  hasValidators(): Promise<boolean>;
  /** Checks evidence is what it claims before anyone is asked (checkEvidence in the PaymentChannels domain). */
  checkEvidence(evidence: Evidence): Promise<EvidenceCheck>;
  /** Asks a validator for a verdict; `attempt` counts the challenges, to spread them over the validators. */
  validate(evidence: Evidence, attempt: number): Promise<ValidatorVerdict>;
  /** The case the evidence would open (its receipt's EIP-712 digest, hashEvidenceReceipt). */
  caseIdOf(evidence: Evidence): Hex;
  /**
   * Reports evidence of fraud on-chain (reportFraud: the bond approved, then `report`). Absent on a
   * deployment without ServingVerification: a fraud verdict is then logged, and nothing more.
   */
  report?: (evidence: Evidence, caseId: Hex) => Promise<ReportOutcome>;
  /** Told after a report went on-chain (the router's records are then read again). */
  onReported?: (provider: Address, outcome: ReportOutcome) => void;
  logger: Logger;
  /** A uniform number in [0, 1): crypto randomness by default, so a provider cannot predict which requests are followed. */
  random?: () => number;
  /** Longest wait between the real request and the challenge it draws (uniform from 0). Default 60 s. */
  maxDelayMs?: number;
  /**
   * Challenges waiting or running per provider and model at once: a burst of traffic draws no burst
   * of challenges. Default 32: with challenges up to a minute after their request (30 s on average)
   * the share holds up to about 50 requests a second to one provider and model at 2% (the earlier
   * cap of 2 held it only to about 3 a second, as bench/verificationCost.ts worked out).
   */
  maxPendingPerOffer?: number;
  /** Runs `run` after `ms`; gives what cancels it. Default an unref'd setTimeout. */
  schedule?: (run: () => void, ms: number) => () => void;
};

/** What the challenger has done since it started: counts, and what its challenges cost (base units). */
export type ChallengerStats = {
  scheduled: number;
  /** Challenges sent and answered: their cost is in `spent`. */
  sent: number;
  /** What the challenges cost: the gateway's own spending, in its channels' `spent` and the providers' `owed` like any request. */
  spent: bigint;
  passed: number;
  fraud: number;
  /** Fraud cases this gateway opened on-chain. */
  reported: number;
  /** Challenges dropped: not sent (no validator, a busy channel) or with no verdict. */
  dropped: number;
  pending: number;
};

const cryptoRandom = () => randomInt(2 ** 47) / 2 ** 47;

/**
 * The gateway's challenger: mixes challenge requests into the traffic it carries, so a provider
 * that serves something other than its registered weights is caught without special hardware.
 * After each real request a provider begins to serve (`observe`), with probability `share`, one
 * challenge for the same provider and model is scheduled after a random delay: challenges follow
 * real traffic, per provider, at a share of it, never where there is none, and arrive at no time
 * a provider could tell from a client's. Each is sent through the gateway's own core
 * (`sendOwn`: the same sealing, channel, vouchers and receipt checks as a client's request); the
 * plaintext sent, the text relayed and the signed receipt make the evidence; a validator re-runs
 * it; on a fraud verdict the evidence is reported on-chain, once per case and per provider (the
 * first case decides: a fraud verdict suspends the provider).
 *
 * @example
 * const challenger = createChallenger({ share: 0.02, challengeFor: createChallenge, send: gateway.sendOwn, … });
 * createGateway({ …, onServed: challenger.observe });
 */
export function createChallenger(options: ChallengerOptions) {
  const { logger } = options;
  const random = options.random ?? cryptoRandom;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const maxPending = options.maxPendingPerOffer ?? 32;
  const schedule =
    options.schedule ??
    ((run: () => void, ms: number) => {
      const timer = setTimeout(run, ms);
      timer.unref();
      return () => clearTimeout(timer);
    });
  if (!(options.share >= 0 && options.share <= 1)) throw new RangeError(`The challenge share must be within 0 and 1, not ${options.share}`);
  if (options.newcomer && !(options.newcomer.share >= 0 && options.newcomer.share <= 1)) throw new RangeError(`The newcomer challenge share must be within 0 and 1, not ${options.newcomer.share}`);
  const newcomerShare = options.newcomer ? Math.max(options.newcomer.share, options.share) : options.share;
  const newcomerRequests = options.newcomer?.requests ?? 0;
  const stats: ChallengerStats = { scheduled: 0, sent: 0, spent: 0n, passed: 0, fraud: 0, reported: 0, dropped: 0, pending: 0 };
  /** What real traffic to each provider and model looks like: the name clients use, the endpoints they call. */
  const traffic = new Map<string, { model: string; apis: Set<ServedRequest["api"]>; pending: number; served: number }>();
  /** Challenges waiting for their time: what cancels each, and whose traffic it follows. */
  const timers = new Map<() => void, { pending: number }>();
  const running = new Set<Promise<void>>();
  /** Cases reported or being reported, and providers reported: one verdict never makes two reports. */
  const cases = new Set<Hex>();
  const reportedProviders = new Set<string>();
  let count = 0;
  let stopped = false;

  const keyOf = (offer: Offer) => `${offer.provider.toLowerCase()}:${offer.modelId}`;

  /** Real traffic of only one kind makes challenges of that kind: they must read like the rest. */
  const chatTemplateOf = (apis: Set<ServedRequest["api"]>) => {
    const chat = apis.has("chat") || apis.has("sealed");
    const completions = apis.has("completions");
    return chat && !completions ? true : completions && !chat ? false : undefined;
  };

  async function challenge(offer: Offer, seen: { model: string; apis: Set<ServedRequest["api"]> }): Promise<void> {
    const n = count++;
    const where = { provider: offer.provider, modelId: offer.modelId.toString() };
    if (!(await options.hasValidators())) {
      stats.dropped++;
      logger.debug("challenge not sent: no validator to ask", where);
      return;
    }
    const known = await (options.modelInfoOf?.(offer) ?? Promise.resolve({})).catch(() => ({}));
    const drawn = options.challengeFor({ capabilities: offer.capabilities, chatTemplate: chatTemplateOf(seen.apis), ...known, model: seen.model });
    // The bytes sent are the evidence's request: serialised once, sent as they are.
    const raw = new Uint8Array(Buffer.from(JSON.stringify(drawn.body)));
    const api = drawn.kind === "chat" ? "chat" : "completions";
    logger.debug("challenge sent", { ...where, api, stream: drawn.body.stream === true });
    const own = await options.send(offer, { api, body: drawn.body, raw });
    const answer = await collectAnswer(own.completion);
    stats.sent++;
    stats.spent += answer.cost;
    const receipt = own.receipt();
    if (!receipt) {
      stats.dropped++;
      logger.warn("challenge answered without a receipt this gateway accepted: no evidence", where);
      return;
    }
    const evidence: Evidence = { receipt, provider: offer.provider, request: raw, response: answer.text };
    const check = await options.checkEvidence(evidence);
    if (!check.ok) {
      // The receipt was accepted, so its signature is the provider's; a hash that does not match
      // what it was sent and sent back is its own doing, but ServingVerification takes only
      // evidence that matches: nothing to report, said loudly.
      stats.dropped++;
      logger.warn("challenge evidence does not match the provider's receipt: not reportable", { ...where, reason: check.reason, requestId: receipt.requestId });
      return;
    }
    const verdict = await options.validate(evidence, n);
    const told = { ...where, requestId: receipt.requestId, validator: verdict.validator, reason: verdict.reason, ...(verdict.agreement !== undefined ? { agreement: verdict.agreement } : {}) };
    if (!verdict.fraud) {
      stats.passed++;
      logger.info("challenge passed", told);
      return;
    }
    if (verdict.reason === "bad_evidence") {
      stats.dropped++;
      logger.warn("the validator refused the evidence as malformed: not reported", told);
      return;
    }
    stats.fraud++;
    logger.warn("challenge failed: the validator found fraud", told);
    const caseId = options.caseIdOf(evidence);
    if (!options.report) {
      logger.warn("fraud not reported: this deployment has no ServingVerification to report it to", { ...told, caseId });
      return;
    }
    const provider = offer.provider.toLowerCase();
    if (cases.has(caseId) || reportedProviders.has(provider)) {
      logger.info("fraud already reported: not reported again", { ...told, caseId });
      return;
    }
    // Claimed before the first await: a second verdict arriving meanwhile sees it.
    cases.add(caseId);
    reportedProviders.add(provider);
    let outcome: ReportOutcome;
    try {
      outcome = await options.report!(evidence, caseId);
    } catch (error) {
      // Not on-chain: a later verdict may try again.
      cases.delete(caseId);
      reportedProviders.delete(provider);
      throw error;
    }
    if (outcome.opened) {
      stats.reported++;
      logger.warn("fraud reported on-chain", { ...told, caseId, transaction: outcome.transactionHash, bond: outcome.bond.toString() });
    } else {
      logger.info("fraud case already open on-chain for this receipt", { ...told, caseId });
    }
    options.onReported?.(offer.provider, outcome);
  }

  return {
    /**
     * Told of each real request a provider began to serve (createGateway's `onServed`): with
     * probability `share` (the newcomer share for its first requests), schedules one challenge for
     * that provider and model after a random delay.
     */
    observe(served: ServedRequest): void {
      if (stopped || options.share === 0 || served.api === "embeddings") return;
      const key = keyOf(served.offer);
      let seen = traffic.get(key);
      if (!seen) traffic.set(key, (seen = { model: served.model, apis: new Set(), pending: 0, served: 0 }));
      seen.model = served.model;
      seen.apis.add(served.api);
      seen.served++;
      if (random() >= (seen.served <= newcomerRequests ? newcomerShare : options.share)) return;
      if (seen.pending >= maxPending) {
        stats.dropped++;
        logger.debug("challenge not scheduled: enough are already waiting for this provider", { provider: served.offer.provider });
        return;
      }
      const entry = seen;
      entry.pending++;
      stats.pending++;
      stats.scheduled++;
      const delay = Math.floor(random() * maxDelayMs);
      logger.debug("challenge scheduled", { provider: served.offer.provider, modelId: served.offer.modelId.toString(), inMs: delay });
      const cancel: () => void = schedule(() => {
        timers.delete(cancel);
        const run = challenge(served.offer, entry)
          .catch((error: unknown) => {
            stats.dropped++;
            const level = isGotongError(error) && (error.code === "too_many_requests" || error.code === "cancelled") ? "debug" : "warn";
            logger[level]("challenge dropped", { provider: served.offer.provider, error: (error as Error).message, code: isGotongError(error) ? error.code : undefined });
          })
          .finally(() => {
            entry.pending--;
            stats.pending--;
            running.delete(run);
          });
        running.add(run);
      }, delay);
      timers.set(cancel, entry);
    },
    /** What the challenger has done (a copy). */
    stats: (): ChallengerStats => ({ ...stats }),
    /** Waits until no challenge is waiting or running (tests). */
    async idle(): Promise<void> {
      while (stats.pending > 0) await Promise.race([...running, new Promise((r) => setTimeout(r, 10))]);
    },
    /** Cancels the challenges not yet sent and waits for those under way. */
    async stop(): Promise<void> {
      stopped = true;
      for (const [cancel, entry] of timers) {
        cancel();
        entry.pending--;
        stats.pending--;
      }
      timers.clear();
      await Promise.allSettled([...running]);
    },
  };
}

/** What {@link createChallenger} gives. */
export type Challenger = ReturnType<typeof createChallenger>;
