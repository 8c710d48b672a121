import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import type { Hex, LocalAccount } from "viem";
import { GotongError } from "../common/errors.ts";
import { readBody, parseJsonObject, sendError, sendJson, setServerTimeouts, startSse, DEFAULT_BODY_LIMIT, DEFAULT_STALL_MS } from "../common/http.ts";
import type { Logger } from "../common/logger.ts";
import { sha256Hex } from "../model/sha256Hex.ts";
import { computeCost, type Price } from "../payments/price.ts";
import { receiptToJson, encodeReceiptHeader, type SignedReceipt } from "../protocol/receipt.ts";
import { createTextChunkEncoder, encodeReceiptTrailer, gotongFinal, gotongProgress } from "../protocol/gotongEvents.ts";
import type { PaymentSigner } from "../payments/createPaymentSigner.ts";
import type { VoucherDomain } from "../protocol/voucher.ts";
import type { ChoiceEnd, InferenceBackend, TokenLogprob } from "./backend.ts";
import type { ToolCall } from "../protocol/generationRequest.ts";
import { parseGenerationRequest } from "../protocol/parseGenerationRequest.ts";
import { readToolCall, toolCallBytes } from "../protocol/toolsPrompt.ts";
import { sealedRequestIdMissing, type SealedTransport } from "./createSealedTransport.ts";
import { HEADERS, SEALED_CONTENT_TYPE } from "../protocol/wire.ts";
import { checkProtocolVersion, PROTOCOL_VERSION_HEADERS } from "../protocol/protocolVersion.ts";
import type { ResponseKeys } from "../privacy/index.ts";
import type { PaymentGuard } from "./createPaymentGuard.ts";
import type { ProviderStore } from "./createProviderStore.ts";
import type { X402Payments } from "./x402/createX402Payments.ts";
import type { X402Facilitator } from "./x402/createX402Facilitator.ts";
import type { ProviderMcp } from "./mcp/createProviderMcp.ts";
import { paceTokenWrites } from "./paceTokenWrites.ts";
import { serveEmbeddings, type PaidRequests } from "./serveEmbeddings.ts";
import { readinessResponse, type Readiness } from "../common/createReadiness.ts";

/**
 * One model this provider serves: its on-chain identity, its price, the engine running it, and the
 * ggml type most of its weights are stored in (its quantization, see ggufWeightType), when known.
 */
export type ServedModel = { name: string; modelId: bigint; weightsHash: Hex; price: Price; backend: InferenceBackend; weightType?: string };

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
  /** Requests the engine runs at once (its parallel slots, all models together). Default one per model. */
  running?: number;
  /** A request body must arrive within this long. Default 30 s. */
  bodyTimeoutMs?: number;
  /** A stream whose client reads nothing for this long is cut and billed for what it took. Default 30 s. */
  stallMs?: number;
  /** What `GET /health` reports (see createProviderReadiness); without it, `{ ok: true }` while the server runs. */
  readiness?: Readiness;
  /** x402 as a front door: a request without a voucher pays (or is asked to pay) with x402 `exact`. */
  x402?: X402Payments;
  /** The x402 facilitator, served under `/x402/` (see createX402Facilitator). */
  x402Facilitator?: X402Facilitator;
  /** The MCP endpoint, served at `/mcp`, its tools paid by the x402 MCP transport (see createProviderMcp). */
  mcp?: ProviderMcp;
};

/** A token's log probability in the chat API's shape (`choices[].logprobs.content[]`). */
function chatLogprob(t: TokenLogprob) {
  return { token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: a.bytes })) };
}

/** Log probabilities in the completions API's shape; `offset` is where the text they cover begins in its choice. */
function completionLogprobs(tokens: TokenLogprob[], offset: number, top: number) {
  const textOffset: number[] = [];
  // Offsets count characters of the text: a character split over tokens is counted once it is whole.
  let bytes: number[] = [];
  for (const t of tokens) {
    textOffset.push(offset);
    bytes.push(...t.bytes);
    const text = Buffer.from(bytes).toString("utf8");
    if (!text.endsWith("\uFFFD")) {
      offset += text.length;
      bytes = [];
    }
  }
  return {
    tokens: tokens.map((t) => t.token),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: top > 0 ? tokens.map((t) => Object.fromEntries(t.top.map((a) => [a.token, a.logprob]))) : null,
    text_offset: textOffset,
  };
}

/** The provider's HTTP API: OpenAI-compatible generation, paid per request by channel vouchers. */
export function createProviderServer(options: ProviderServerOptions): Server {
  const { logger } = options;
  let inFlight = 0;
  const maxInFlight = (options.running ?? options.models.length) + (options.maxQueued ?? 32);
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
      capabilities: m.backend.capabilities,
      weightType: m.weightType,
    })),
  });

  // What every paid route shares (generation and embeddings): opening the request, taking its
  // payment, signing its receipt and sending the answer with it.
  const paid: PaidRequests = {
    open(req, received) {
      const requestIdHeader = req.headers[HEADERS.requestId];
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
      return { requestId, raw, responseKeys, body, model: findModel(body.model) };
    },
    authorize(req, opened, maxCost) {
      const voucherHeader = req.headers[HEADERS.voucher];
      if (options.x402 && typeof voucherHeader !== "string") return options.x402.authorize(req, opened, maxCost);
      return options.guard.authorize(typeof voucherHeader === "string" ? voucherHeader : undefined, opened.model.modelId, maxCost, opened.requestId);
    },
    // Synchronous from reading what is owed to recording the new total, so two requests finishing
    // on one channel at once can never sign the same cumulative amount; the receipt is handed back
    // once that record is on disk (its commit shared with the turn's other requests).
    async sign(opened, auth, counts, responseHash, finishReason) {
      const { model, requestId } = opened;
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
        requestHash: `0x${sha256Hex(opened.raw)}`,
        responseHash,
      });
      options.store.recordServed(auth.epoch, receipt);
      await options.store.durable();
      logger.info("served", { request: requestId.slice(0, 10), model: model.name, in: counts.inputTokens, out: counts.outputTokens, cost, finish: finishReason });
      return receipt;
    },
    headers(opened) {
      const headers: Record<string, string> = { [HEADERS.requestId]: opened.requestId, [HEADERS.provider]: options.account.address };
      if (opened.responseKeys) headers[HEADERS.sealed] = "1";
      if (options.x402) Object.assign(headers, options.x402.responseHeaders(opened.requestId));
      return headers;
    },
    send(res, opened, receipt, answer) {
      const answerHeaders = {
        ...paid.headers(opened),
        [HEADERS.receiptId]: opened.requestId,
        [HEADERS.receipt]: encodeReceiptHeader(receipt),
        [HEADERS.cost]: receipt.cost.toString(),
        [HEADERS.inputTokens]: String(receipt.inputTokens),
        [HEADERS.outputTokens]: String(receipt.outputTokens),
      };
      if (opened.responseKeys) {
        const sealedBody = options.sealed!.sealBody(opened.responseKeys, JSON.stringify(answer));
        res.writeHead(200, { ...answerHeaders, "content-type": SEALED_CONTENT_TYPE, "content-length": sealedBody.length });
        res.end(sealedBody);
      } else {
        sendJson(res, 200, answer, answerHeaders);
      }
    },
    release: (requestId) => options.store.releaseRequest(requestId),
    cancels,
  };

  async function generate(kind: "chat" | "completion", req: IncomingMessage, res: ServerResponse, received: Buffer) {
    const opened = paid.open(req, received);
    const { requestId, responseKeys, body, model } = opened;
    const request = parseGenerationRequest(kind, body);
    const prepared = await model.backend.prepare(request);
    const toolMode = request.tools !== undefined && request.toolChoice !== "none";
    const maxCost = computeCost(model.price, { inputTokens: prepared.inputTokens, outputTokens: prepared.maxOutputTokens });
    const auth = await paid.authorize(req, opened, maxCost);
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
      const baseHeaders = paid.headers(opened);
      const hash = createHash("sha256");
      let outputTokens = 0;
      // Billed prompt tokens: exact from the embedded engine; from an upstream, its own count afterwards.
      let inputTokens = prepared.inputTokens;
      let textBytes = 0;
      // Billed output: the engine's count (an upstream's own usage), never more than the request
      // allowed nor than the text delivered can hold (every token brings at least one byte, one more
      // may end each choice). The gateway checks the same bound.
      const billedOutput = (reported: number) => Math.min(reported, prepared.maxOutputTokens, textBytes + prepared.choices);

      const finish = async (finishReason: string): Promise<SignedReceipt> => {
        const receipt = await paid.sign(opened, auth, { inputTokens, outputTokens }, `0x${hash.digest("hex")}`, finishReason);
        billed = true;
        return receipt;
      };
      const usage = () => ({ prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens });

      const choices = prepared.choices;
      // Each choice's text (held whole in tool mode, where an answer is either a call or text) and log probabilities.
      const texts: string[] = Array.from({ length: choices }, () => "");
      const tokenLogprobs: TokenLogprob[][] = Array.from({ length: choices }, () => []);
      const finishOf = (end: ChoiceEnd | undefined, call: ToolCall | undefined) => (call ? "tool_calls" : end?.finishReason === "length" ? "length" : "stop");
      /** A choice's answer read whole in tool mode: a call of one of the tools, or text (and the bytes billing is held to). */
      const settleTools = (choice: number) => {
        const call = readToolCall(texts[choice]!, request.tools!);
        textBytes += call ? toolCallBytes(call) : Buffer.byteLength(texts[choice]!);
        return call;
      };

      if (request.stream) {
        // Tokens close together leave in one write, after the engine's next step has begun (see paceTokenWrites).
        const sse = paceTokenWrites(startSse(res, baseHeaders, responseKeys ? options.sealed!.streamSealer(responseKeys) : undefined, options.stallMs ?? DEFAULT_STALL_MS));
        const chunkObject = kind === "chat" ? "chat.completion.chunk" : "text_completion";
        const chunk = (choice: Record<string, unknown> | undefined, extra?: Record<string, unknown>) => ({ id, object: chunkObject, created, model: model.name, choices: choice ? [choice] : [], ...extra });
        // Per-token chunks: the JSON around the text is built once per choice, since this runs once per token.
        const plainTextChunk = createTextChunkEncoder({ kind, id, created, model: model.name, choices });
        const textOffsets = texts.map(() => 0);
        const begun = new Set<number>();
        // A chat choice opens with the assistant's role, as the API streams it.
        const begin = (i: number) => {
          if (begun.has(i)) return;
          begun.add(i);
          if (kind === "chat") sse.send(chunk({ index: i, delta: { role: "assistant", content: "" }, finish_reason: null }));
        };
        /** The chunk of a piece of text; with its tokens' log probabilities when they were asked for. */
        const textChunk = (i: number, piece: string, logprobs: TokenLogprob[] | undefined) => {
          // `gotong.outputTokens` lets the gateway check a receipt against what it actually received.
          if (!logprobs) return plainTextChunk(i, piece, outputTokens);
          const offset = textOffsets[i]!;
          textOffsets[i] = offset + piece.length;
          const choice = kind === "chat"
            ? { index: i, delta: { content: piece }, logprobs: { content: logprobs.map(chatLogprob), refusal: null }, finish_reason: null }
            : { index: i, text: piece, logprobs: completionLogprobs(logprobs, offset, request.logprobs!.top), finish_reason: null };
          return chunk(choice, { gotong: gotongProgress(outputTokens) });
        };
        const calls: (ToolCall | undefined)[] = [];
        /** In tool mode a choice goes out whole once it ends: a call streams as the API streams one, its id and name first, then its arguments. */
        const sendToolAnswer = (i: number) => {
          const call = (calls[i] = settleTools(i));
          if (call) {
            const delta = (d: unknown) => chunk({ index: i, delta: { tool_calls: [d] }, finish_reason: null }, { gotong: gotongProgress(outputTokens) });
            sse.send(delta({ index: 0, id: call.id, type: "function", function: { name: call.name, arguments: "" } }));
            sse.send(delta({ index: 0, function: { arguments: call.arguments } }), outputTokens);
          } else if (texts[i]) {
            sse.send(textChunk(i, texts[i]!, undefined), outputTokens);
          }
        };
        // The first choice opens at once, before its first token: the client sees the answer begin.
        begin(0);
        const result = await prepared.run({
          signal: abort.signal,
          onText: (piece, tokens, { choice, logprobs }) => {
            if (connectionGone()) return;
            outputTokens += tokens;
            hash.update(piece);
            begin(choice);
            if (toolMode) {
              texts[choice] += piece;
              return;
            }
            textBytes += Buffer.byteLength(piece);
            sse.send(textChunk(choice, piece, logprobs), outputTokens);
            // A client that stops reading pauses its own generation (and is cut after `stallMs`).
            return sse.whenWritable();
          },
          onChoiceEnd: (choice, end) => {
            if (connectionGone()) return;
            begin(choice);
            if (toolMode) sendToolAnswer(choice);
            // The last choice's end goes out with the receipt, below.
            if (choice === choices - 1) return;
            const finish = finishOf(end, calls[choice]);
            sse.send(chunk(kind === "chat" ? { index: choice, delta: {}, finish_reason: finish } : { index: choice, text: "", finish_reason: finish }));
            return sse.whenWritable();
          },
        });
        if (result.inputTokens !== undefined) inputTokens = Math.min(result.inputTokens, prepared.inputTokens);
        // A client that left is billed for the tokens written to it before it left, not those generated.
        // A cancelled stream is still read to its end: it is billed for all it was sent.
        const gone = connectionGone();
        if (gone) outputTokens = sse.sentMark();
        else if (cancelled) outputTokens = billedOutput(outputTokens);
        else outputTokens = billedOutput(Math.max(result.outputTokens, outputTokens));
        const receipt = await finish(cancelled && !gone ? "cancelled" : result.finishReason);
        if (gone) return;
        // The last choice ends with the receipt; a request cancelled before it began carries the receipt alone.
        const last = result.choices.length === choices || result.choices.length === 0 ? Math.max(result.choices.length - 1, 0) : undefined;
        const lastFinish = last === undefined ? undefined : finishOf(result.choices[last], calls[last]);
        const lastChoice = last === undefined ? undefined : kind === "chat" ? { index: last, delta: {}, finish_reason: lastFinish } : { index: last, text: "", finish_reason: lastFinish };
        // Usage goes where the OpenAI API puts it: once, on a last chunk with no choices, and only
        // when asked for with stream_options.include_usage. The receipt carries the counts anyway.
        sse.send(chunk(lastChoice, { gotong: gotongFinal(receipt) }));
        if (request.includeUsage) sse.send(chunk(undefined, { usage: usage() }));
        // Sealed: the receipt (hashes and counts, no content) also follows in the clear for a relay.
        sse.end(responseKeys ? encodeReceiptTrailer(receipt) : undefined);
        return;
      }

      const result = await prepared.run({
        signal: abort.signal,
        onText: (piece, tokens, { choice, logprobs }) => {
          outputTokens += tokens;
          texts[choice] += piece;
          if (!toolMode) textBytes += Buffer.byteLength(piece);
          if (logprobs) tokenLogprobs[choice]!.push(...logprobs);
          hash.update(piece);
        },
      });
      // Every choice that ran is answered; one cancelled before it began, with no text.
      const ran = Math.max(result.choices.length, 1);
      const calls = texts.slice(0, ran).map((_, i) => (toolMode ? settleTools(i) : undefined));
      outputTokens = billedOutput(cancelled ? outputTokens : Math.max(result.outputTokens, outputTokens));
      if (result.inputTokens !== undefined) inputTokens = Math.min(result.inputTokens, prepared.inputTokens);
      if (connectionGone()) {
        // Nothing was delivered: bill the evaluated prompt only.
        outputTokens = 0;
        await finish("abort");
        return;
      }
      const receipt = await finish(cancelled ? "cancelled" : result.finishReason);
      const answerChoices = calls.map((call, index) => {
        const text = texts[index]!;
        const finishReason = finishOf(result.choices[index], call);
        const logprobs = request.logprobs ? tokenLogprobs[index]! : undefined;
        if (kind === "completion") return { index, text, finish_reason: finishReason, logprobs: logprobs ? completionLogprobs(logprobs, 0, request.logprobs!.top) : null };
        const message = call
          ? { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }] }
          : { role: "assistant", content: text };
        return { index, message, finish_reason: finishReason, logprobs: logprobs ? { content: logprobs.map(chatLogprob), refusal: null } : null };
      });
      const answer = { id, object, created, model: model.name, choices: answerChoices, usage: usage(), gotong: gotongFinal(receipt) };
      paid.send(res, opened, receipt, answer);
    } finally {
      cancels.delete(requestId);
      // A request that failed before its receipt was written billed nothing: its id is free again.
      if (!billed) options.store.releaseRequest(requestId);
      auth.release();
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    // Every answer says which protocol version wrote it, and a request written for another version
    // is refused before anything is read or charged (a plain client sends no version: accepted).
    for (const [name, value] of Object.entries(PROTOCOL_VERSION_HEADERS)) res.setHeader(name, value);
    checkProtocolVersion(req.headers[HEADERS.protocolVersion], { local: "provider", remote: "gateway" });
    const url = new URL(req.url ?? "/", "http://provider");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (req.method === "GET" && path === "/health") {
      if (!options.readiness) return sendJson(res, 200, { ok: true });
      const { status, body, headers } = readinessResponse(await options.readiness.check());
      return sendJson(res, status, body, headers);
    }
    if (req.method === "GET" && path === "/gotong/info") return sendJson(res, 200, info());
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: options.models.map((m) => ({ id: m.name, object: "model", created: 0, owned_by: "gotong", gotong: { modelId: m.modelId.toString(), weightsHash: m.weightsHash } })),
      });
    }
    if (req.method === "POST" && path === "/gotong/vouchers") {
      const header = req.headers[HEADERS.voucher];
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
      const running = !receipt && options.store.isRunning(receiptMatch[1] as Hex);
      // What was read may sit in the turn's shared commit: it is told only once it is on disk.
      await options.store.durable();
      if (running) {
        // Still generating: the receipt exists once it ends. A gateway polls rather than forgets it.
        return sendJson(res, 202, { status: "running", requestId: receiptMatch[1] }, { "retry-after": "1" });
      }
      if (!receipt) throw new GotongError(`No receipt for request ${receiptMatch[1]}`, { code: "receipt_not_found", status: 404 });
      return sendJson(res, 200, receiptToJson(receipt));
    }
    if (path === "/v1/chat/completions" || path === "/v1/completions" || path === "/v1/embeddings") {
      if (req.method !== "POST") throw new GotongError(`Use POST for ${path}`, { code: "method_not_allowed", status: 405 });
      // The body is read (bounded in size and time) before a slot is taken: a client dribbling its
      // body holds a socket, never a slot.
      const received = await readBody(req, options.bodyLimit ?? DEFAULT_BODY_LIMIT, options.bodyTimeoutMs);
      if (inFlight >= maxInFlight) throw new GotongError("The provider is busy", { code: "overloaded", status: 503, retryable: true, hint: "Retry after a second." });
      inFlight++;
      try {
        if (path === "/v1/embeddings") return await serveEmbeddings(paid, req, res, received);
        return await generate(path === "/v1/chat/completions" ? "chat" : "completion", req, res, received);
      } finally {
        inFlight--;
      }
    }
    if (options.mcp && path === "/mcp") return options.mcp.handle(req, res);
    if (options.x402Facilitator && path.startsWith("/x402/") && (await options.x402Facilitator.handle(req, res, path))) return;
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
