import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import type { Hex } from "viem";
import { computeCost } from "../payments/price.ts";
import type { SignedReceipt } from "../protocol/receipt.ts";
import { gotongFinal } from "../protocol/gotongEvents.ts";
import type { ResponseKeys } from "../privacy/index.ts";
import { encodeEmbeddingBase64, float32LittleEndian, parseEmbeddingRequest } from "../protocol/parseEmbeddingRequest.ts";
import { capabilityRefused } from "./createLlamaEmbeddingBackend.ts";
import type { Authorization } from "./createPaymentGuard.ts";
import type { ServedModel } from "./createProviderServer.ts";

/** A paid request as it arrived: its id, its plaintext (opened when it came sealed), the model it names. */
export type OpenedRequest = { requestId: Hex; raw: Uint8Array; responseKeys: ResponseKeys | undefined; body: Record<string, unknown>; model: ServedModel };

/**
 * The payment machinery every paid route of the provider shares (see createProviderServer): one
 * request id per request, a voucher admitted against the request's worst case before any work, a
 * signed receipt committed with the new cumulative total, the answer sealed when the request was.
 */
export type PaidRequests = {
  open(req: IncomingMessage, received: Buffer): OpenedRequest;
  /** Admits the request's voucher for at most `maxCost`, reserving it while the request runs. */
  authorize(req: IncomingMessage, opened: OpenedRequest, maxCost: bigint): Promise<Authorization>;
  /**
   * Signs and records the receipt for what was served, reading what is owed and recording the new
   * total in one synchronous step, so overlapping requests never sign the same total; resolves
   * once the record is on disk (only then may the receipt go out).
   */
  sign(opened: OpenedRequest, auth: Authorization, counts: { inputTokens: number; outputTokens: number }, responseHash: Hex, finishReason: string): Promise<SignedReceipt>;
  /** Gotong's headers on every answer (request id, provider, sealed). */
  headers(opened: OpenedRequest): Record<string, string>;
  /** Sends a whole answer with its receipt in headers, sealed when the request was. */
  send(res: ServerResponse, opened: OpenedRequest, receipt: SignedReceipt, answer: unknown): void;
  /** Gives back the id of a request that ended before its receipt was written (it billed nothing). */
  release(requestId: Hex): void;
  /** Requests running now, by id, with the way to stop each early (POST /gotong/requests/ID/cancel). */
  cancels: Map<Hex, () => void>;
};

/**
 * What an embeddings receipt's response hash commits to: every vector's float32 values,
 * little-endian, in order; the same whichever `encoding_format` carried them.
 */
export function embeddingsResponseHash(vectors: readonly Float32Array[]): Hex {
  const hash = createHash("sha256");
  for (const vector of vectors) hash.update(float32LittleEndian(vector));
  return `0x${hash.digest("hex")}`;
}

/**
 * `POST /v1/embeddings`: paid per input token (the tokenizer's count of every input, known before
 * any work, so the deposit is checked against the exact cost) and zero output tokens, through the
 * same voucher, receipt and split as chat. A request cancelled mid-way is answered with the vectors
 * made so far and billed for their tokens; one whose client left is billed for the inputs evaluated.
 */
export async function serveEmbeddings(paid: PaidRequests, req: IncomingMessage, res: ServerResponse, received: Buffer): Promise<void> {
  const opened = paid.open(req, received);
  const { model, requestId } = opened;
  const prepareEmbeddings = model.backend.prepareEmbeddings?.bind(model.backend);
  if (!prepareEmbeddings || !model.backend.capabilities.includes("embeddings")) {
    throw capabilityRefused(`The model "${model.name}" is served here for chat, not embeddings`, "embeddings", "Pick an embedding model for /v1/embeddings");
  }
  const request = parseEmbeddingRequest(opened.body);
  const prepared = await prepareEmbeddings(request);
  // The worst case is the exact cost: every input token is known now, and there is no output.
  const auth = await paid.authorize(req, opened, computeCost(model.price, { inputTokens: prepared.inputTokens, outputTokens: 0 }));
  let billed = false;
  try {
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort(new Error("client disconnected"));
    });
    let cancelled = false;
    paid.cancels.set(requestId, () => {
      cancelled = true;
      abort.abort(new Error("cancelled"));
    });
    const vectors = await prepared.run({ signal: abort.signal });
    const inputTokens = prepared.tokensPerInput.slice(0, vectors.length).reduce((a, b) => a + b, 0);
    const gone = abort.signal.aborted && (!cancelled || res.destroyed);
    const finishReason = vectors.length < prepared.tokensPerInput.length ? (gone ? "abort" : "cancelled") : "stop";
    const receipt = await paid.sign(opened, auth, { inputTokens, outputTokens: 0 }, embeddingsResponseHash(vectors), finishReason);
    billed = true;
    if (gone) return;
    const answer = {
      object: "list",
      data: vectors.map((vector, index) => ({
        object: "embedding",
        index,
        embedding: request.encodingFormat === "base64" ? encodeEmbeddingBase64(vector) : Array.from(vector),
      })),
      model: model.name,
      usage: { prompt_tokens: inputTokens, total_tokens: inputTokens },
      gotong: gotongFinal(receipt),
    };
    paid.send(res, opened, receipt, answer);
  } finally {
    paid.cancels.delete(requestId);
    // Refused or failed before its receipt was written: nothing billed, and its id is free again.
    if (!billed) paid.release(requestId);
    auth.release();
  }
}
