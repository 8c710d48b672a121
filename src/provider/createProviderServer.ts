import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import type { Hex, LocalAccount } from "viem";
import { GotongError } from "../common/errors.ts";
import { readBody, parseJsonObject, sendError, sendJson, setServerTimeouts, startSse, DEFAULT_BODY_LIMIT, DEFAULT_STALL_MS } from "../common/http.ts";
import type { Logger } from "../common/logger.ts";
import { sha256Hex } from "../model/sha256Hex.ts";
import { computeCost, type Price } from "../payments/price.ts";
import { receiptToJson, encodeReceiptHeader, type SignedReceipt } from "../payments/receipt.ts";
import type { PaymentSigner } from "../payments/createPaymentSigner.ts";
import type { VoucherDomain } from "../payments/voucher.ts";
import type { InferenceBackend } from "./backend.ts";
import { parseGenerationRequest } from "./parseGenerationRequest.ts";
import { readToolCall, toolCallBytes } from "./toolsPrompt.ts";
import { SEALED_CONTENT_TYPE, sealedRequestIdMissing, type SealedTransport } from "./createSealedTransport.ts";
import type { ResponseKeys } from "../privacy/index.ts";
import type { PaymentGuard } from "./createPaymentGuard.ts";
import type { ProviderStore } from "./createProviderStore.ts";

/** One model this provider serves: its on-chain identity, its price, and the engine running it. */
export type ServedModel = { name: string; modelId: bigint; weightsHash: Hex; price: Price; backend: InferenceBackend };

export type ProviderServerOptions = {
  account: LocalAccount;
  /** Signs receipts with the provider's key. */
  signer: PaymentSigner;
  domain: VoucherDomain;
  models: ServedModel[];
  guard: PaymentGuard;
  store: ProviderStore;
  /** Opens sealed requests and seals their responses; without it only plaintext requests are served. */
  sealed?: SealedTransport;
  logger: Logger;
  bodyLimit?: number;
  /** Requests waiting beyond those running before new ones get 503. Default 32. */
  maxQueued?: number;
  /** A request body must arrive within this long. Default 30 s. */
  bodyTimeoutMs?: number;
  /** A stream whose client reads nothing for this long is cut and billed for what it took. Default 30 s. */
  stallMs?: number;
};

/** The provider's HTTP API: OpenAI-compatible generation, paid per request by channel vouchers. */
export function createProviderServer(options: ProviderServerOptions): Server {
  const { logger } = options;
  let inFlight = 0;
  const maxInFlight = options.models.length + (options.maxQueued ?? 32);
  // Requests generating now, by id, with the way to stop one early while its answer is still read
  // to the end: a gateway whose client left asks for this instead of cutting the connection, so
  // both sides count the same tokens (bytes in socket buffers when a connection is cut are counted
  // by the writer and never seen by the reader).
  const cancels = new Map<Hex, () => void>();

  const findModel = (name: unknown): ServedModel => {
    if (typeof name !== "string" || !name) throw new GotongError(`"model" is required`, { code: "invalid_parameter", param: "model", status: 400 });
    const model = options.models.find((m) => m.name === name || `${m.name}@${m.modelId}` === name || m.weightsHash === name);
    if (!model) {
      throw new GotongError(`This provider does not serve the model "${name}"`, {
        code: "model_not_found",
        status: 404,
        hint: `It serves: ${options.models.map((m) => m.name).join(", ")}.`,
        param: "model",
      });
    }
    return model;
  };

  const info = () => ({
    provider: options.account.address,
    chainId: options.domain.chainId,
    paymentChannels: options.domain.verifyingContract,
    models: options.models.map((m) => ({
      name: m.name,
      modelId: m.modelId.toString(),
      weightsHash: m.weightsHash,
      pricePerMillionInput: m.price.pricePerMillionInput.toString(),
      pricePerMillionOutput: m.price.pricePerMillionOutput.toString(),
      engine: m.backend.engine,
      contextSize: m.backend.contextSize,
    })),
  });

  async function generate(kind: "chat" | "completion", req: IncomingMessage, res: ServerResponse, received: Buffer) {
    const requestIdHeader = req.headers["x-gotong-request-id"];
    const givenId = typeof requestIdHeader === "string" && /^0x[0-9a-f]{64}$/.test(requestIdHeader);
    const requestId = (givenId ? requestIdHeader : `0x${randomBytes(32).toString("hex")}`) as Hex;
    let raw: Uint8Array = received;
    let responseKeys: ResponseKeys | undefined;
    if (req.headers["content-type"]?.startsWith(SEALED_CONTENT_TYPE)) {
      if (!options.sealed) throw new GotongError("This provider has no key for sealed requests", { code: "sealing_unavailable", status: 400 });
      if (!givenId) throw sealedRequestIdMissing();
      ({ plaintext: raw, responseKeys } = options.sealed.open(received, requestId));
    }
    const body = parseJsonObject(raw);
    const model = findModel(body.model);
    const request = parseGenerationRequest(kind, body);
    const prepared = await model.backend.prepare(request);
    const toolMode = request.tools !== undefined && request.toolChoice !== "none";
    const maxCost = computeCost(model.price, { inputTokens: prepared.inputTokens, outputTokens: prepared.maxOutputTokens });
    const voucherHeader = req.headers["x-gotong-voucher"];
    const auth = await options.guard.authorize(typeof voucherHeader === "string" ? voucherHeader : undefined, model.modelId, maxCost, requestId);
    let billed = false;
    try {
      const abort = new AbortController();
      const clientGone = () => {
        if (!res.writableFinished) abort.abort(new Error("client disconnected"));
      };
      res.on("close", clientGone);
      // Cancelled: generation stops, and the answer so far is finished normally, with its receipt.
      let cancelled = false;
      cancels.set(requestId, () => {
        cancelled = true;
        abort.abort(new Error("cancelled"));
      });
      const connectionGone = () => abort.signal.aborted && (!cancelled || res.destroyed);
      const created = Math.floor(Date.now() / 1000);
      const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-${requestId.slice(2, 26)}`;
      const object = kind === "chat" ? "chat.completion" : "text_completion";
      const baseHeaders: Record<string, string> = { "x-gotong-request-id": requestId, "x-gotong-provider": options.account.address };
      if (responseKeys) baseHeaders["x-gotong-sealed"] = "1";
      const hash = createHash("sha256");
      let outputTokens = 0;
      // Billed prompt tokens: exact from the embedded engine; from an upstream, its own count afterwards.
      let inputTokens = prepared.inputTokens;
      let text = "";
      let textBytes = 0;
      // Billed output: the engine's count (an upstream's own usage), never more than the request
      // allowed nor than the text delivered can hold (every token brings at least one byte, one more
      // may end the sequence). The gateway checks the same bound.
      const billedOutput = (reported: number) => Math.min(reported, prepared.maxOutputTokens, textBytes + 1);

      // Synchronous from reading what is owed to committing the new total, so two requests finishing
      // on one channel at once can never sign the same cumulative amount.
      const finish = (finishReason: string): SignedReceipt => {
        const counts = { inputTokens, outputTokens };
        const cost = computeCost(model.price, counts);
        const owedBefore = options.store.getChannel(auth.channelId, auth.epoch).owed;
        const receipt = options.signer.signReceipt({
          requestId,
          channelId: auth.channelId,
          weightsHash: model.weightsHash,
          inputTokens: BigInt(counts.inputTokens),
          outputTokens: BigInt(counts.outputTokens),
          cost,
          cumulativeOwed: owedBefore + cost,
          requestHash: `0x${sha256Hex(raw)}`,
          responseHash: `0x${hash.digest("hex")}`,
        });
        options.store.recordServed(auth.epoch, receipt);
        billed = true;
        logger.info("served", { request: requestId.slice(0, 10), model: model.name, in: counts.inputTokens, out: outputTokens, cost, finish: finishReason });
        return receipt;
      };
      const usage = () => ({ prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens });

      if (request.stream) {
        const sse = startSse(res, baseHeaders, responseKeys ? options.sealed!.streamSealer(responseKeys) : undefined, options.stallMs ?? DEFAULT_STALL_MS);
        if (kind === "chat") sse.send({ id, object: "chat.completion.chunk", created, model: model.name, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
        // Per-token chunks are built from a fixed prefix: this runs once per token, on the hot path.
        const chunkObject = kind === "chat" ? "chat.completion.chunk" : "text_completion";
        const prefix = `{"id":${JSON.stringify(id)},"object":"${chunkObject}","created":${created},"model":${JSON.stringify(model.name)},"choices":[{"index":0,${kind === "chat" ? '"delta":{"content":' : '"text":'}`;
        const middle = kind === "chat" ? '},"finish_reason":null}],"gotong":{"outputTokens":' : ',"finish_reason":null}],"gotong":{"outputTokens":';
        const result = await prepared.run({
          signal: abort.signal,
          onText: (piece, tokens) => {
            if (connectionGone()) return;
            outputTokens += tokens;
            hash.update(piece);
            // With tools the answer is read whole first: it is either a call or text.
            if (toolMode) {
              text += piece;
              return;
            }
            textBytes += Buffer.byteLength(piece);
            // `gotong.outputTokens` lets the gateway check a receipt against what it actually received.
            sse.send(`${prefix}${JSON.stringify(piece)}${middle}${outputTokens}}}`, outputTokens);
            // A client that stops reading pauses its own generation (and is cut after `stallMs`).
            return sse.whenWritable();
          },
        });
        if (result.inputTokens !== undefined) inputTokens = Math.min(result.inputTokens, prepared.inputTokens);
        // A call streams as the API streams one: its id and name first, then its arguments.
        const call = toolMode && !connectionGone() ? readToolCall(text, request.tools!) : undefined;
        if (call) {
          textBytes = toolCallBytes(call);
          const delta = (d: unknown) => ({ id, object: chunkObject, created, model: model.name, choices: [{ index: 0, delta: { tool_calls: [d] }, finish_reason: null }], gotong: { outputTokens } });
          sse.send(delta({ index: 0, id: call.id, type: "function", function: { name: call.name, arguments: "" } }));
          sse.send(delta({ index: 0, function: { arguments: call.arguments } }), outputTokens);
        } else if (toolMode && text && !connectionGone()) {
          textBytes = Buffer.byteLength(text);
          sse.send(`${prefix}${JSON.stringify(text)}${middle}${outputTokens}}}`, outputTokens);
        }
        // A client that left is billed for the tokens written to it before it left, not those generated.
        // A cancelled stream is still read to its end: it is billed for all it was sent.
        const gone = connectionGone();
        if (gone) outputTokens = sse.sentMark();
        else if (cancelled) outputTokens = billedOutput(outputTokens);
        else outputTokens = billedOutput(Math.max(result.outputTokens, outputTokens));
        const receipt = finish(cancelled && !gone ? "cancelled" : result.finishReason);
        if (gone) return;
        const finishReason = call ? "tool_calls" : result.finishReason === "length" ? "length" : "stop";
        const last = kind === "chat" ? { index: 0, delta: {}, finish_reason: finishReason } : { index: 0, text: "", finish_reason: finishReason };
        const receiptJson = receiptToJson(receipt);
        // Usage goes where the OpenAI API puts it: once, on a last chunk with no choices, and only
        // when asked for with stream_options.include_usage. The receipt carries the counts anyway.
        sse.send({ id, object: chunkObject, created, model: model.name, choices: [last], gotong: { receipt: receiptJson, cost: receipt.cost.toString() } });
        if (request.includeUsage) sse.send({ id, object: chunkObject, created, model: model.name, choices: [], usage: usage() });
        // Sealed: the receipt (hashes and counts, no content) also follows in the clear for a relay.
        sse.end(responseKeys ? `event: receipt\ndata: ${JSON.stringify(receiptJson)}\n\n` : undefined);
        return;
      }

      const result = await prepared.run({
        signal: abort.signal,
        onText: (piece, tokens) => {
          outputTokens += tokens;
          text += piece;
          textBytes += Buffer.byteLength(piece);
          hash.update(piece);
        },
      });
      const call = toolMode ? readToolCall(text, request.tools!) : undefined;
      if (call) textBytes = toolCallBytes(call);
      outputTokens = billedOutput(cancelled ? outputTokens : Math.max(result.outputTokens, outputTokens));
      if (result.inputTokens !== undefined) inputTokens = Math.min(result.inputTokens, prepared.inputTokens);
      if (connectionGone()) {
        // Nothing was delivered: bill the evaluated prompt only.
        outputTokens = 0;
        finish("abort");
        return;
      }
      const receipt = finish(cancelled ? "cancelled" : result.finishReason);
      const finishReason = call ? "tool_calls" : result.finishReason === "length" ? "length" : "stop";
      const message = call
        ? { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }] }
        : { role: "assistant", content: text };
      const choice = kind === "chat"
        ? { index: 0, message, finish_reason: finishReason, logprobs: null }
        : { index: 0, text, finish_reason: finishReason, logprobs: null };
      const answer = { id, object, created, model: model.name, choices: [choice], usage: usage(), gotong: { receipt: receiptToJson(receipt), cost: receipt.cost.toString() } };
      const answerHeaders = {
        ...baseHeaders,
        "x-gotong-receipt-id": requestId,
        "x-gotong-receipt": encodeReceiptHeader(receipt),
        "x-gotong-cost": receipt.cost.toString(),
        "x-gotong-input-tokens": String(inputTokens),
        "x-gotong-output-tokens": String(outputTokens),
      };
      if (responseKeys) {
        const sealedBody = options.sealed!.sealBody(responseKeys, JSON.stringify(answer));
        res.writeHead(200, { ...answerHeaders, "content-type": SEALED_CONTENT_TYPE, "content-length": sealedBody.length });
        res.end(sealedBody);
      } else {
        sendJson(res, 200, answer, answerHeaders);
      }
    } finally {
      cancels.delete(requestId);
      // A request that failed before its receipt was written billed nothing: its id is free again.
      if (!billed) options.store.releaseRequest(requestId);
      auth.release();
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://provider");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { ok: true });
    if (req.method === "GET" && path === "/gotong/info") return sendJson(res, 200, info());
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: options.models.map((m) => ({ id: m.name, object: "model", created: 0, owned_by: "gotong", gotong: { modelId: m.modelId.toString(), weightsHash: m.weightsHash } })),
      });
    }
    if (req.method === "POST" && path === "/gotong/vouchers") {
      const header = req.headers["x-gotong-voucher"];
      const result = await options.guard.settle(typeof header === "string" ? header : undefined);
      return sendJson(res, 200, { accepted: result.accepted, owed: result.owed.toString() });
    }
    const cancelMatch = /^\/gotong\/requests\/(0x[0-9a-f]{64})\/cancel$/.exec(path);
    if (req.method === "POST" && cancelMatch) {
      // Knowing a request's 32 random id bytes is what it takes, as for its receipt: anyone on the
      // path who sees the id could as well cut the connection, which stops it too.
      const cancel = cancels.get(cancelMatch[1] as Hex);
      cancel?.();
      return sendJson(res, 200, { cancelled: cancel !== undefined });
    }
    const receiptMatch = /^\/gotong\/receipts\/(0x[0-9a-f]{64})$/.exec(path);
    if (req.method === "GET" && receiptMatch) {
      const receipt = options.store.getReceipt(receiptMatch[1] as Hex);
      if (!receipt && options.store.isRunning(receiptMatch[1] as Hex)) {
        // Still generating: the receipt exists once it ends. A gateway polls rather than forgets it.
        return sendJson(res, 202, { status: "running", requestId: receiptMatch[1] }, { "retry-after": "1" });
      }
      if (!receipt) throw new GotongError(`No receipt for request ${receiptMatch[1]}`, { code: "receipt_not_found", status: 404 });
      return sendJson(res, 200, receiptToJson(receipt));
    }
    if (path === "/v1/chat/completions" || path === "/v1/completions") {
      if (req.method !== "POST") throw new GotongError(`Use POST for ${path}`, { code: "method_not_allowed", status: 405 });
      // The body is read (bounded in size and time) before a slot is taken: a client dribbling its
      // body holds a socket, never a slot.
      const received = await readBody(req, options.bodyLimit ?? DEFAULT_BODY_LIMIT, options.bodyTimeoutMs);
      if (inFlight >= maxInFlight) throw new GotongError("The provider is busy", { code: "overloaded", status: 503, retryable: true, hint: "Retry after a second." });
      inFlight++;
      try {
        return await generate(path === "/v1/chat/completions" ? "chat" : "completion", req, res, received);
      } finally {
        inFlight--;
      }
    }
    throw new GotongError(`No route for ${req.method} ${path}`, { code: "not_found", status: 404 });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error) => {
      if (!(error instanceof GotongError)) logger.error("request failed", { error: (error as Error).message });
      sendError(res, error);
    });
  });
  setServerTimeouts(server, options.bodyTimeoutMs);
  return server;
}
