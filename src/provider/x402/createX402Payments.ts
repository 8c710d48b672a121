import type { IncomingMessage } from "node:http";
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import { GotongError } from "../../common/errors.ts";
import type { Logger } from "../../common/logger.ts";
import { HEADERS } from "../../protocol/wire.ts";
import { BATCH_SETTLEMENT_SCHEME } from "../../protocol/x402/batchSettlement.ts";
import { encodeX402Header, parsePaymentPayloadHeader } from "../../protocol/x402/x402Codec.ts";
import { X402_ERROR_REASONS } from "../../protocol/x402/x402ErrorReasons.ts";
import { X402_HEADERS, X402_VERSION, type PaymentRequired, type PaymentRequirements, type ResourceInfo } from "../../protocol/x402/x402Types.ts";
import type { Authorization } from "../createPaymentGuard.ts";
import type { ProviderStore } from "../createProviderStore.ts";
import type { OpenedRequest } from "../serveEmbeddings.ts";
import type { BatchSettlementPayments } from "./batchSettlement/createBatchSettlementPayments.ts";
import type { ExactSettlement } from "./createExactSettlement.ts";
import { verifyExactPayment } from "./verifyExactPayment.ts";
import { x402Refusal } from "./x402Refusal.ts";

/** x402 as the provider's front door: requests without a Gotong voucher pay with x402 `exact`. */
export type X402Payments = {
  /**
   * Takes the x402 payment of a request whose worst case is `maxCost`: verifies its
   * `PAYMENT-SIGNATURE`, settles it on chain through X402Splitter, and admits the request; without
   * one, or with one that does not pay, throws a 402 carrying `PAYMENT-REQUIRED`.
   */
  authorize(req: IncomingMessage, opened: OpenedRequest, maxCost: bigint): Promise<Authorization>;
  /** The x402 headers of the answer to a request `authorize` admitted (`PAYMENT-RESPONSE`). */
  responseHeaders(requestId: Hex): Record<string, string>;
};

export type X402PaymentsOptions = {
  /** The settlement core (createExactSettlement), shared with the facilitator. */
  settlement: ExactSettlement;
  /** The provider's store: request ids are reserved in it as for vouchers. */
  store: ProviderStore;
  logger: Logger;
  /** `maxTimeoutSeconds` of the requirements, and so the life of a client's authorization. Default 120. */
  maxTimeoutSeconds?: number;
  /**
   * The `batch-settlement` door, where its contracts are on the chain: every 402 then offers it
   * after `exact`, and a payment that `accepted` it goes there.
   */
  batch?: BatchSettlementPayments;
};

/**
 * Creates the provider's x402 front door.
 *
 * The choice of `exact` settlement, in short: `payTo` is X402Splitter's payee for this provider
 * and model, `amount` the request's worst case, and the payment is settled (one transaction that
 * also splits it) before the request runs, so nothing is served unpaid and the `PAYMENT-RESPONSE`
 * header can go out before a stream's first byte. `exact` pays exactly `amount`: the part of the
 * worst case a shorter answer did not use is not refunded (x402 has no refund; `upto`, which
 * settles less, needs Permit2). `x-gotong-cost` says what the answer itself cost.
 *
 * @example const x402 = createX402Payments({ settlement: await createExactSettlement(clients, splitter), store, logger });
 */
export function createX402Payments(options: X402PaymentsOptions): X402Payments {
  const { settlement, store, logger, batch } = options;
  const { network, token, domain, provider, chainId, feeBps } = settlement;
  const maxTimeoutSeconds = options.maxTimeoutSeconds ?? 120;
  const responses = new Map<Hex, string>();

  const describe = (req: IncomingMessage, opened: OpenedRequest, path: string): ResourceInfo => {
    const host = req.headers.host ?? `127.0.0.1`;
    return {
      url: `http://${host}${path}`,
      description: `${path} with ${opened.model.name}, paid for the request's worst case`,
      mimeType: opened.body.stream === true ? "text/event-stream" : "application/json",
    };
  };

  return {
    async authorize(req, opened, maxCost) {
      const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "") || "/";
      const modelId = opened.model.modelId;
      const requirements: PaymentRequirements = {
        scheme: "exact",
        network,
        amount: maxCost.toString(),
        asset: token,
        payTo: await settlement.payeeOf(modelId),
        maxTimeoutSeconds,
        extra: { name: domain.name, version: domain.version },
      };
      // exact first; batch-settlement beside it where its contracts are on the chain.
      const accepts = batch ? [requirements, await batch.requirements(modelId, maxCost)] : [requirements];
      const required: PaymentRequired = { x402Version: X402_VERSION, resource: describe(req, opened, path), accepts };
      const header = req.headers[X402_HEADERS.paymentSignature.toLowerCase()];
      if (typeof header !== "string") {
        throw new GotongError(`This provider serves paid requests only: no ${HEADERS.voucher} header and no ${X402_HEADERS.paymentSignature} header`, {
          code: "voucher_missing",
          status: 402,
          headers: { [X402_HEADERS.paymentRequired]: encodeX402Header({ ...required, error: `${X402_HEADERS.paymentSignature} header is required` }) },
          hint: "Pay with x402 (the PAYMENT-REQUIRED header says how), or call it through a Gotong gateway, which opens a channel and signs vouchers.",
        });
      }
      const parsed = parsePaymentPayloadHeader(header);
      if (!parsed.ok) throw x402Refusal(required, X402_ERROR_REASONS.payload, `the ${X402_HEADERS.paymentSignature} header is malformed: ${parsed.problem}`);
      if (batch && parsed.value.accepted.scheme === BATCH_SETTLEMENT_SCHEME) return batch.authorize(req, opened, maxCost, parsed.value, required);
      const verdict = await verifyExactPayment({ payment: parsed.value, required: requirements, chainId, path, domain, readState: settlement.readState });
      if (!verdict.ok) throw x402Refusal(required, verdict.reason, verdict.message);
      const { payer, authorization, signature } = verdict;
      // The receipt of an x402 request is filed under its payment: one per authorization.
      const paymentId = keccak256(encodeAbiParameters([{ type: "address" }, { type: "bytes32" }], [payer, authorization.nonce]));
      if (!store.reserveRequest(opened.requestId, paymentId)) {
        throw new GotongError(`Request id ${opened.requestId} was already used`, { code: "request_id_reused", status: 409, hint: "Send a new request with a new id." });
      }
      let settled: Awaited<ReturnType<ExactSettlement["settle"]>>;
      let royaltyBps: number;
      try {
        // The id is on disk before the payment moves (its commit shared with the turn's other requests).
        await store.durable();
        // Read before settling: once the payment is settled, nothing may stand between it and the answer.
        royaltyBps = await settlement.royaltyBpsOf(modelId);
        settled = await settlement.settle(modelId, authorization, signature);
      } catch (error) {
        store.releaseRequest(opened.requestId);
        throw error;
      }
      if (!settled.ok) {
        store.releaseRequest(opened.requestId);
        logger.warn("x402 settlement failed", { payer, reason: settled.reason, error: settled.message });
        throw x402Refusal(required, settled.reason, settled.message, { failed: { success: false, errorReason: settled.reason, transaction: "", network, payer } });
      }
      logger.info("x402 payment settled", { payer, tx: settled.transaction, amount: settled.amount, provider: settled.providerShare, royalty: settled.royalty, fee: settled.fee });
      // The amount this payment settled: the split may also have swept an earlier direct transfer to the payee.
      responses.set(opened.requestId, encodeX402Header({ success: true, transaction: settled.transaction, network, payer, amount: authorization.value }));
      const value = BigInt(authorization.value);
      return {
        // The payment as a one-request channel: paid in full, at the rates it was split by.
        channel: { sender: payer, provider, modelId, deposit: value, redeemed: value, royaltyBps, feeBps, epoch: 0n, closesAt: 0n },
        channelId: paymentId,
        epoch: 0n,
        release: () => responses.delete(opened.requestId),
      };
    },
    responseHeaders(requestId): Record<string, string> {
      const response = responses.get(requestId);
      if (response) return { [X402_HEADERS.paymentResponse]: response };
      return batch?.responseHeaders(requestId) ?? {};
    },
  };
}
