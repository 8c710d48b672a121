/**
 * The names the provider ↔ gateway ↔ client protocol puts on the wire: headers, content types and
 * the protocol version. Every side imports them from here, so a header is spelled in one place.
 */

/**
 * The version of the provider ↔ gateway protocol. Both sides send it in `x-gotong-protocol`; a side
 * that meets a different version refuses the exchange with `protocol_version_mismatch`.
 * Raise it when a change to vouchers, receipts or the event stream would be misread by the old code.
 */
export const PROTOCOL_VERSION = 1;

/** The body of a request or answer sealed end to end (HPKE); nobody between the two ends can read it. */
export const SEALED_CONTENT_TYPE = "application/gotong-sealed";

/**
 * The clear events a gateway adds to a sealed stream it relays for a client that sealed the request
 * itself (the web page): the summary of the receipt it checked and paid, or why the stream failed
 * (an OpenAI-style error body). Here, not in gotongEvents.ts, so the browser takes them without viem.
 */
export const SUMMARY_EVENT = "gotong";
export const ERROR_EVENT = "error";

export const HEADERS = {
  /** The protocol version of the side that sent the message (PROTOCOL_VERSION). */
  protocolVersion: "x-gotong-protocol",
  /** A signed voucher: `channelId:epoch:cumulativeAmount:signature`. */
  voucher: "x-gotong-voucher",
  /** The provider's signed receipt of a request that was not streamed (base64 JSON). */
  receipt: "x-gotong-receipt",
  /** The id of the receipt the client was charged by. */
  receiptId: "x-gotong-receipt-id",
  /** The id the gateway gave the request; the provider's receipt carries it. */
  requestId: "x-gotong-request-id",
  /** The provider that served the request. */
  provider: "x-gotong-provider",
  /** `1` when the answer is sealed to the client's response keys. */
  sealed: "x-gotong-sealed",
  /** What the request cost, in base units of the payment token. */
  cost: "x-gotong-cost",
  inputTokens: "x-gotong-input-tokens",
  outputTokens: "x-gotong-output-tokens",
  /** An API key's budget, what it has spent this period, when the period resets, and this request's bound. */
  budget: "x-gotong-budget",
  budgetSpent: "x-gotong-budget-spent",
  budgetResets: "x-gotong-budget-resets",
  requestMaxCost: "x-gotong-request-max-cost",
  /** `1` on the web app's own requests to its local wallet; a cross-site form cannot set it. */
  web: "x-gotong-web",
} as const;

export type HeaderName = (typeof HEADERS)[keyof typeof HEADERS];
