import type { IncomingMessage } from "node:http";
import { GotongError } from "../../../common/errors.ts";
import { BATCH_SETTLEMENT_SCHEME } from "../../../protocol/x402/batchSettlement.ts";
import { encodeX402Header, parsePaymentPayloadHeader, parsePaymentRequiredHeader } from "../../../protocol/x402/x402Codec.ts";
import { X402_HEADERS, type PaymentRequired } from "../../../protocol/x402/x402Types.ts";
import type { OpenedRequest } from "../../serveEmbeddings.ts";
import type { X402Payments } from "../createX402Payments.ts";
import type { BatchSettlementPayments } from "./createBatchSettlementPayments.ts";

/**
 * The provider's x402 door with both schemes: every 402 offers `exact` (first, as before) and
 * `batch-settlement` in one `accepts`, and a payment goes to the scheme it `accepted`. The exact
 * door is used as it is: its 402s are taken and given the batch entry.
 *
 * @example const x402 = withBatchSettlement(createX402Payments({ settlement, store, logger }), batch);
 */
export function withBatchSettlement(exact: X402Payments, batch: BatchSettlementPayments): X402Payments {
  /** The exact door's 402 with the batch entry added to its `accepts`. */
  const widen = async (error: unknown, opened: OpenedRequest, maxCost: bigint): Promise<unknown> => {
    const header = error instanceof GotongError ? error.headers?.[X402_HEADERS.paymentRequired] : undefined;
    if (!(error instanceof GotongError) || header === undefined) return error;
    const parsed = parsePaymentRequiredHeader(header);
    if (!parsed.ok) return error;
    const required: PaymentRequired = { ...parsed.value, accepts: [...parsed.value.accepts, await batch.requirements(opened.model.modelId, maxCost)] };
    return new GotongError(error.message, {
      code: error.code,
      status: error.status,
      hint: error.hint,
      type: error.type,
      headers: { ...error.headers, [X402_HEADERS.paymentRequired]: encodeX402Header(required) },
      cause: error.cause,
    });
  };

  /** What the exact door says this request requires (its unpaid 402), with the batch entry: the base of every batch refusal. */
  const requiredFor = async (req: IncomingMessage, opened: OpenedRequest, maxCost: bigint): Promise<PaymentRequired> => {
    const unpaid = Object.create(req, { headers: { value: { ...req.headers, [X402_HEADERS.paymentSignature.toLowerCase()]: undefined } } }) as IncomingMessage;
    try {
      await exact.authorize(unpaid, opened, maxCost);
    } catch (error) {
      const widened = await widen(error, opened, maxCost);
      const header = widened instanceof GotongError ? widened.headers?.[X402_HEADERS.paymentRequired] : undefined;
      if (header !== undefined) {
        const parsed = parsePaymentRequiredHeader(header);
        if (parsed.ok) {
          const { error: _unpaid, ...required } = parsed.value;
          return required;
        }
      }
      throw error;
    }
    throw new Error("the exact door admitted a request without payment");
  };

  return {
    async authorize(req, opened, maxCost) {
      const header = req.headers[X402_HEADERS.paymentSignature.toLowerCase()];
      const parsed = typeof header === "string" ? parsePaymentPayloadHeader(header) : undefined;
      if (parsed?.ok && parsed.value.accepted.scheme === BATCH_SETTLEMENT_SCHEME) {
        return batch.authorize(req, opened, maxCost, parsed.value, await requiredFor(req, opened, maxCost));
      }
      try {
        return await exact.authorize(req, opened, maxCost);
      } catch (error) {
        throw await widen(error, opened, maxCost);
      }
    },
    responseHeaders(requestId) {
      return { ...exact.responseHeaders(requestId), ...batch.responseHeaders(requestId) };
    },
  };
}
