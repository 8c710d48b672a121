import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isAddressEqual, type Address } from "viem";
import { GotongError } from "../../common/errors.ts";
import { DEFAULT_BODY_LIMIT, parseJsonObject, readBody, sendJson } from "../../common/http.ts";
import type { Logger } from "../../common/logger.ts";
import { parseFacilitatorRequest, type FacilitatorRequest } from "../../protocol/x402/x402Codec.ts";
import { X402_ERROR_REASONS } from "../../protocol/x402/x402ErrorReasons.ts";
import { X402_VERSION, type SettlementResponse, type VerifyResponse } from "../../protocol/x402/x402Types.ts";
import type { ExactSettlement } from "./createExactSettlement.ts";
import { verifyExactPayment, type RefusedPayment, type VerifiedPayment } from "./verifyExactPayment.ts";

/** The x402 facilitator built into a provider: `GET /supported`, `POST /verify`, `POST /settle` under a base path. */
export type X402Facilitator = {
  /** Serves a request under the base path; false when `path` is not one of the facilitator's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
};

export type X402FacilitatorOptions = {
  settlement: ExactSettlement;
  /** The models whose payees this facilitator settles for (the provider's own). */
  modelIds: bigint[];
  /**
   * The key callers present as `Authorization: Bearer KEY` on `/verify` and `/settle`: a
   * facilitator that settles for anyone lets anyone spend its gas and race its settlements.
   */
  apiKey: string;
  logger: Logger;
  /** Where the endpoints live. Default `/x402` (`/x402/verify`, `/x402/settle`, `/x402/supported`). */
  basePath?: string;
};

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Creates the facilitator. It verifies and settles `exact` EIP-3009 payments on this chain, in the
 * deployment's token, to the X402Splitter payees of this provider's models only (so every payment
 * it settles is split like a redeem), with the provider's key paying the gas; requests to
 * `/verify` and `/settle` need the API key. A body without a top-level `x402Version` takes its
 * payment's (`paymentPayload.x402Version`); one whose two versions disagree is refused.
 *
 * @example const facilitator = createX402Facilitator({ settlement, modelIds: [7n], apiKey, logger });
 */
export function createX402Facilitator(options: X402FacilitatorOptions): X402Facilitator {
  const { settlement, logger } = options;
  const base = options.basePath ?? "/x402";
  if (options.apiKey.length < 16) {
    throw new GotongError("The x402 facilitator key is too short", { code: "invalid_arguments", hint: "Use at least 16 random characters, e.g. `openssl rand -hex 32`." });
  }
  const expected = digest(options.apiKey);

  const authenticate = (req: IncomingMessage) => {
    const header = req.headers.authorization;
    if (typeof header !== "string" || !header.startsWith("Bearer ")) {
      throw new GotongError("This facilitator needs an API key in an Authorization header using Bearer auth (Authorization: Bearer KEY)", {
        code: "missing_api_key",
        status: 401,
        type: "invalid_request_error",
        hint: "Ask the provider's operator for its facilitator key.",
      });
    }
    // Compared as digests, in constant time: the key's length and prefix leak nothing.
    if (!timingSafeEqual(digest(header.slice("Bearer ".length)), expected)) {
      throw new GotongError("Incorrect API key provided for this facilitator", { code: "invalid_api_key", status: 401, type: "invalid_request_error" });
    }
  };

  /** The model a `payTo` is this provider's payee for, if any. */
  const modelOfPayee = async (payTo: string): Promise<bigint | undefined> => {
    if (!/^0x[0-9a-fA-F]{40}$/.test(payTo)) return undefined;
    for (const modelId of options.modelIds) {
      if (isAddressEqual(await settlement.payeeOf(modelId), payTo as Address)) return modelId;
    }
    return undefined;
  };

  /** Checks a request's requirements are ones this facilitator settles, then the payment against them. */
  const check = async (request: FacilitatorRequest): Promise<{ verdict: VerifiedPayment | RefusedPayment; modelId?: bigint }> => {
    const { paymentRequirements: required, paymentPayload: payment } = request;
    const refuse = (reason: RefusedPayment["reason"], message: string): { verdict: RefusedPayment } => ({ verdict: { ok: false, reason, message } });
    // The body's version, or where a client sends none, its payment's.
    const version = request.x402Version ?? payment.x402Version;
    if (version !== payment.x402Version) {
      return refuse(X402_ERROR_REASONS.x402Version, `The request says x402Version ${version} but its paymentPayload says ${payment.x402Version}; send one version (this facilitator speaks ${X402_VERSION})`);
    }
    if (version !== X402_VERSION) return refuse(X402_ERROR_REASONS.x402Version, `x402Version ${version} is not supported; this facilitator speaks ${X402_VERSION}`);
    if (required.scheme !== "exact") return refuse(X402_ERROR_REASONS.unsupportedScheme, `This facilitator settles "exact" only, not "${required.scheme}"`);
    if (required.network !== settlement.network) return refuse(X402_ERROR_REASONS.network, `This facilitator settles on ${settlement.network}, not ${required.network}`);
    if (!/^0x[0-9a-fA-F]{40}$/.test(required.asset) || !isAddressEqual(required.asset as Address, settlement.token)) {
      return refuse(X402_ERROR_REASONS.paymentRequirements, `This facilitator settles payments in ${settlement.token}, not ${required.asset}`);
    }
    const modelId = await modelOfPayee(required.payTo);
    if (modelId === undefined) return refuse(X402_ERROR_REASONS.recipientMismatch, `${required.payTo} is not the X402Splitter payee of any model this provider serves`);
    const verdict = await verifyExactPayment({ payment, required, chainId: settlement.chainId, path: undefined, domain: settlement.domain, readState: settlement.readState });
    return { verdict, modelId };
  };

  const readRequest = async (req: IncomingMessage) => {
    const parsed = parseFacilitatorRequest(parseJsonObject(await readBody(req, DEFAULT_BODY_LIMIT)));
    if (!parsed.ok) throw new GotongError(`The facilitator request is malformed: ${parsed.problem}`, { code: "invalid_parameter", status: 400 });
    return parsed.value;
  };

  return {
    async handle(req, res, path) {
      if (path === `${base}/supported`) {
        if (req.method !== "GET") throw new GotongError(`Use GET for ${path}`, { code: "method_not_allowed", status: 405 });
        sendJson(res, 200, {
          kinds: [{ x402Version: X402_VERSION, scheme: "exact", network: settlement.network }],
          extensions: [],
          signers: { "eip155:*": [settlement.provider] },
        });
        return true;
      }
      if (path !== `${base}/verify` && path !== `${base}/settle`) return false;
      if (req.method !== "POST") throw new GotongError(`Use POST for ${path}`, { code: "method_not_allowed", status: 405 });
      authenticate(req);
      const request = await readRequest(req);
      const { verdict, modelId } = await check(request);
      if (path === `${base}/verify`) {
        const body: VerifyResponse = verdict.ok ? { isValid: true, payer: verdict.payer } : { isValid: false, invalidReason: verdict.reason, payer: verdict.payer };
        sendJson(res, 200, verdict.ok ? body : { ...body, invalidMessage: verdict.message });
        return true;
      }
      const failed = (errorReason: string, message: string, payer?: Address): SettlementResponse & { errorMessage: string } => ({
        success: false,
        errorReason,
        errorMessage: message,
        ...(payer ? { payer } : {}),
        transaction: "",
        network: settlement.network,
      });
      if (!verdict.ok) {
        sendJson(res, 200, failed(verdict.reason, verdict.message, verdict.payer));
        return true;
      }
      const settled = await settlement.settle(modelId!, verdict.authorization, verdict.signature);
      if (!settled.ok) {
        logger.warn("x402 facilitator settlement failed", { payer: verdict.payer, reason: settled.reason, error: settled.message });
        sendJson(res, 200, failed(settled.reason, settled.message, verdict.payer));
        return true;
      }
      logger.info("x402 facilitator settled", { payer: verdict.payer, tx: settled.transaction, amount: settled.amount });
      const body: SettlementResponse = { success: true, payer: verdict.payer, transaction: settled.transaction, network: settlement.network, amount: verdict.authorization.value };
      sendJson(res, 200, body);
      return true;
    },
  };
}
