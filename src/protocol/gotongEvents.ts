import { encodeEvent, type SseEvent } from "./events.ts";
import { receiptFromJson, receiptToJson, type ReceiptJson, type SignedReceipt } from "./receipt.ts";

/**
 * What Gotong adds to an OpenAI-style stream. Each text chunk carries, under `gotong`, the
 * provider's running count of output tokens sent (`{"outputTokens": n}`), so a gateway can hold a
 * receipt (or a stream cut short) to what it actually received; the chunk that ends the last
 * choice carries the signed receipt and its cost instead. A sealed stream also ends with the
 * receipt in the clear, as an `event: receipt` trailer, for a relay that cannot open the frames.
 */

/** The name of the clear receipt event that ends a sealed stream. */
export const RECEIPT_EVENT = "receipt";

/** `gotong` on a text chunk: the output tokens sent so far, this chunk's included. */
export type GotongProgress = { outputTokens: number };
/** `gotong` on the final chunk (and on an answer that was not streamed): the signed receipt and its cost in base units. */
export type GotongFinal = { receipt: ReceiptJson; cost: string };

/** The `gotong` field of a text chunk. */
export function gotongProgress(outputTokens: number): GotongProgress {
  return { outputTokens };
}

/** The `gotong` field of the final chunk, or of an answer that was not streamed. */
export function gotongFinal(receipt: SignedReceipt): GotongFinal {
  return { receipt: receiptToJson(receipt), cost: receipt.cost.toString() };
}

/** The `gotong` fields of a chunk as a reader sees them. */
export type GotongFields = {
  /** The provider's running count of output tokens, when the chunk carries one that is a safe non-negative integer. */
  outputTokens?: number;
  /**
   * Present when the chunk is the final one (it has `gotong.receipt`): the receipt, undefined when
   * malformed (to be refused, not skipped), and the cost it states, undefined when not a decimal.
   */
  final?: { receipt: SignedReceipt | undefined; cost: bigint | undefined };
};

/**
 * Reads the `gotong` fields of a parsed chunk (or answer); `{}` when it has none.
 *
 * @example readGotongFields(JSON.parse(event.data)).outputTokens // 12
 */
export function readGotongFields(chunk: unknown): GotongFields {
  const gotong = typeof chunk === "object" && chunk !== null ? (chunk as { gotong?: unknown }).gotong : undefined;
  if (typeof gotong !== "object" || gotong === null) return {};
  const { outputTokens, receipt, cost } = gotong as Record<string, unknown>;
  const fields: GotongFields = {};
  if (typeof outputTokens === "number" && Number.isSafeInteger(outputTokens) && outputTokens >= 0) fields.outputTokens = outputTokens;
  if (receipt !== undefined) fields.final = { receipt: receiptFromJson(receipt), cost: typeof cost === "string" && /^\d{1,78}$/.test(cost) ? BigInt(cost) : undefined };
  return fields;
}

/**
 * Encodes the data of a streamed text chunk: OpenAI's chunk with one choice holding `text`, and
 * `gotong.outputTokens`. The JSON around the text is built once per stream and choice, since this
 * runs for every token; it is byte for byte `JSON.stringify` of
 * `{ id, object, created, model, choices: [{ index, delta: { content } | text, finish_reason: null }], gotong: { outputTokens } }`.
 *
 * @example const textChunk = createTextChunkEncoder({ kind: "chat", id, created, model, choices: 1 }); sse.send(textChunk(0, "Hi", 1));
 */
export function createTextChunkEncoder(stream: { kind: "chat" | "completion"; id: string; created: number; model: string; choices: number }): (choice: number, text: string, outputTokens: number) => string {
  const object = stream.kind === "chat" ? "chat.completion.chunk" : "text_completion";
  const head = `{"id":${JSON.stringify(stream.id)},"object":${JSON.stringify(object)},"created":${JSON.stringify(stream.created)},"model":${JSON.stringify(stream.model)},"choices":[{"index":`;
  const open = stream.kind === "chat" ? ',"delta":{"content":' : ',"text":';
  const prefixes = Array.from({ length: stream.choices }, (_, i) => `${head}${i}${open}`);
  const middle = stream.kind === "chat" ? '},"finish_reason":null}],"gotong":{"outputTokens":' : ',"finish_reason":null}],"gotong":{"outputTokens":';
  return (choice, text, outputTokens) => `${prefixes[choice] ?? `${head}${choice}${open}`}${JSON.stringify(text)}${middle}${outputTokens}}}`;
}

/** The clear receipt trailer that ends a sealed stream: `event: receipt` with the receipt's JSON. */
export function encodeReceiptTrailer(receipt: SignedReceipt): string {
  return encodeEvent({ event: RECEIPT_EVENT, data: JSON.stringify(receiptToJson(receipt)) });
}

/**
 * The receipt a trailer carries: undefined for an event that is not the trailer; `{ receipt: undefined }`
 * for a trailer whose receipt is malformed (to be refused).
 */
export function readReceiptTrailer(event: SseEvent): { receipt: SignedReceipt | undefined } | undefined {
  if (event.event !== RECEIPT_EVENT) return undefined;
  try {
    return { receipt: receiptFromJson(JSON.parse(event.data)) };
  } catch {
    return { receipt: undefined };
  }
}
