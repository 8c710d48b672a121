import { createRequestInfo, createStreamOpener, decodeSseFrame, hexToBytes, sealRequest, utf8 } from "../../crypto/index.ts";
import type { GotongErrorCode, GotongErrorOptions } from "../../../common/errors.ts";
import { gotongErrorCodeOf } from "../../../protocol/errorCodes.ts";
import { errorFromResponse, PageError, postJson, request } from "../lib/api.ts";
import { createEventDecoder, STREAM_DONE } from "../../../protocol/events.ts";
import { ERROR_EVENT, SEALED_CONTENT_TYPE, SUMMARY_EVENT } from "../../../protocol/wire.ts";

/** One message of a conversation, as the OpenAI API takes it. */
export type ChatMessage = { role: "system" | "user" | "assistant"; content: string };

/** The checked receipt summary the gateway sends after the answer (clear, it holds no content). */
export type ChatReceipt = {
  receiptId: string;
  cost: string;
  inputTokens: number;
  outputTokens: number;
  provider: string;
  modelId?: string;
  weightsHash?: string;
};

/** A chat that failed part-way: what arrived is kept, with why it stopped. */
export class ChatStreamError extends PageError {
  constructor(
    message: string,
    options: GotongErrorOptions,
    readonly partial: string,
  ) {
    super(message, options);
  }
}

/** Options of {@link sendSealedChat}. */
export type SealedChatOptions = {
  model: string;
  messages: ChatMessage[];
  maxTokens: number;
  /** Sampling temperature (0 to 2); unset, the provider's default applies. */
  temperature?: number;
  /** Nucleus sampling (0 to 1); unset, the provider's default applies. */
  topP?: number;
  signal?: AbortSignal;
  /** Each piece of the answer as it is opened. */
  onDelta?: (text: string) => void;
  /** Once the gateway has chosen a provider (before anything is sent). */
  onPrepared?: (info: { requestId: string; provider: string }) => void;
  /**
   * Checks the key the gateway handed over before anything is sealed to it (against the chain:
   * trust/checkProviderKey.ts); a throw stops the turn with nothing sent.
   */
  checkKey?: (prepared: { provider: string; hpkePublicKey: string; chainId: number }) => Promise<void>;
};

/**
 * Sends one chat turn through the gateway without the gateway being able to read it: asks the
 * gateway to prepare a request (it picks the provider and the request id), seals the OpenAI request
 * to that provider's HPKE key in this browser, posts the envelope, and opens the sealed answer
 * frame by frame. The gateway pays the provider and checks its receipt; its summary arrives last.
 *
 * @throws PageError before anything streamed (payment refused, no provider, gateway down), or
 *   ChatStreamError with the partial answer when the stream broke or was stopped
 * @example const { text, receipt } = await sendSealedChat({ model, messages, maxTokens: 256, onDelta });
 */
export async function sendSealedChat(options: SealedChatOptions): Promise<{ text: string; receipt: ChatReceipt; requestId: string }> {
  try {
    return await sendSealedChatOnce(options);
  } catch (error) {
    // Stopped before the stream began (while preparing, sealing or posting): the browser's bare
    // AbortError says "signal is aborted without reason"; the person pressed Stop, so say that.
    if (options.signal?.aborted && !(error instanceof ChatStreamError) && !(error instanceof PageError && error.code.startsWith("provider_key_"))) {
      throw new ChatStreamError("Stopped before the answer began.", { code: "aborted", hint: "Nothing arrived. If the provider had already started, what it did is charged and its cost shows here once the gateway settles it.", cause: error }, "");
    }
    throw error;
  }
}

/** The turn itself; {@link sendSealedChat} only rewords a Stop that came before the stream. */
async function sendSealedChatOnce(options: SealedChatOptions): Promise<{ text: string; receipt: ChatReceipt; requestId: string }> {
  const prepared = await postJson<{ requestId: string; provider: string; hpkePublicKey: string; chainId: number }>("/gotong/relay/prepare", { model: options.model }, options.signal);
  // The key is checked before the request id is kept with the answer: a refused key sent nothing, charged nothing.
  await options.checkKey?.(prepared);
  options.onPrepared?.({ requestId: prepared.requestId, provider: prepared.provider });

  // Sealed with the messages: how the person asks the model is theirs to keep, like what they ask.
  const body = utf8(
    JSON.stringify({ model: options.model, messages: options.messages, max_tokens: options.maxTokens, temperature: options.temperature, top_p: options.topP, stream: true }),
  );
  const { envelope, responseKeys } = sealRequest(hexToBytes(prepared.hpkePublicKey), body, createRequestInfo({ chainId: prepared.chainId, provider: prepared.provider }), {
    aad: hexToBytes(prepared.requestId),
  });
  const res = await request(`/gotong/relay/${prepared.requestId}`, {
    method: "POST",
    headers: { "content-type": SEALED_CONTENT_TYPE },
    body: envelope as Uint8Array<ArrayBuffer>,
    signal: options.signal,
  });
  if (!res.ok || !res.body) throw await errorFromResponse(res);

  const opener = createStreamOpener(responseKeys);
  const outer = createEventDecoder();
  const inner = createEventDecoder();
  let text = "";
  let receipt: ChatReceipt | undefined;
  const broken = (message: string, code: GotongErrorCode, hint: string, cause?: unknown) => new ChatStreamError(message, { code, hint, cause }, text);

  const handleInner = (plaintext: Uint8Array) => {
    for (const event of inner.push(plaintext)) {
      if (event.data === STREAM_DONE) continue;
      let chunk: { choices?: { delta?: { content?: string }; text?: string }[]; error?: { message?: string; code?: string } };
      try {
        chunk = JSON.parse(event.data) as typeof chunk;
      } catch {
        continue;
      }
      if (chunk.error) throw broken(chunk.error.message ?? "The provider reported an error.", gotongErrorCodeOf(chunk.error.code, "provider_error"), "What arrived is kept. You are charged only for the tokens you received.");
      const piece = chunk.choices?.[0]?.delta?.content ?? chunk.choices?.[0]?.text ?? "";
      if (piece) {
        text += piece;
        options.onDelta?.(piece);
      }
    }
  };

  const reader = res.body.getReader();
  try {
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (error) {
        if (options.signal?.aborted) throw broken("Stopped.", "aborted", "What arrived is kept. The tokens the provider sent before the stop reached it are charged, which can be more than shows here (some were still on their way); the cost shows here once the gateway settles it.", error);
        throw broken("The connection to the gateway dropped mid-answer.", "network_down", "What arrived is kept. The tokens the gateway received from the provider are charged, which can be more than shows here; check the connection and ask again.", error);
      }
      if (read.done) break;
      for (const event of outer.push(read.value)) {
        if (event.event === SUMMARY_EVENT) {
          receipt = JSON.parse(event.data) as ChatReceipt;
        } else if (event.event === ERROR_EVENT) {
          const e = (JSON.parse(event.data) as { error?: { message?: string; code?: string } }).error ?? {};
          const cut = e.code === "provider_stream_cut" || e.code === "stream_truncated";
          throw broken(
            cut ? "The provider stopped in the middle of the answer." : (e.message ?? "The answer failed."),
            gotongErrorCodeOf(e.code, "stream_error"),
            "What arrived is kept, marked incomplete. You are charged only for the tokens you received; ask again to retry.",
          );
        } else if (event.data) {
          let opened: { plaintext: Uint8Array };
          try {
            opened = opener.open(decodeSseFrame(event.data));
          } catch (error) {
            throw broken("The sealed answer did not open: it was altered or broken in transit.", "envelope_invalid", "Nothing unauthenticated is shown. Ask again.", error);
          }
          handleInner(opened.plaintext);
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
  try {
    opener.end();
  } catch (error) {
    throw broken("The provider stopped in the middle of the answer.", "stream_truncated", "What arrived is kept, marked incomplete. You are charged only for the tokens you received; ask again to retry.", error);
  }
  if (!receipt) throw broken("The answer arrived but its receipt did not.", "receipt_missing", "The gateway will settle it on its next request to this provider.");
  return { text, receipt, requestId: prepared.requestId };
}
