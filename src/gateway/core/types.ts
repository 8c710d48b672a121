import type { Address, Hex } from "viem";
import type { GotongError } from "../../common/errors.ts";
import type { PromptInput } from "../../model/createPromptRenderer.ts";
import type { VoucherDomain } from "../../protocol/voucher.ts";
import type { AuthorizedKey } from "../apiKeys/createApiKeyAuthorizer.ts";
import type { ChannelLanes } from "../createChannelLanes.ts";
import type { ChannelManager } from "../createChannelManager.ts";
import type { GatewayStore } from "../createGatewayStore.ts";
import type { ProviderInfo } from "../createProviderInfo.ts";
import type { Router } from "../createRouter.ts";
import type { EmbeddingCounter } from "../embeddingTerms.ts";
import type { SealedStreamEvent } from "../relays/sealedRelay.ts";
import type { ChatStreamEvent } from "../relays/sseRelay.ts";
import type { ReceiptKeeper } from "./createReceiptKeeper.ts";
import type { GotongSummary } from "./gotongSummary.ts";

// The shapes the gateway core takes and gives (exported by createGateway), and the ones its steps
// (failover, attemptProvider, sendRequest, answerRefusal) hand each other.

/** What the core asks of the channel manager (createChannelManager gives it all). */
export type GatewayChannels = Pick<ChannelManager, "channelIdFor" | "ensureChannel" | "voucherFor" | "forget" | "channelsPerPair" | "laneOf" | "isOpen">;

/** How one call is made. */
export type CallOptions = {
  /** Abort when the caller no longer wants the answer: the provider is asked to stop and is paid for what it sent. */
  signal?: AbortSignal;
  /** The API key the request came with: its budget holds the request's worst case until the receipt settles it. */
  key?: AuthorizedKey;
};

/** A chat or completions request: its parsed body, and the bytes it came as (forwarded untouched when given). */
export type GenerationRequest = {
  api: "chat" | "completions";
  body: Record<string, unknown>;
  /** The body's bytes as the client sent them; default `JSON.stringify(body)`. */
  raw?: Uint8Array;
};

/** An answer that was not streamed, its receipt checked and paid. */
export type Answer = {
  kind: "answer";
  /** The provider's answer (OpenAI-shaped), without Gotong's summary. */
  body: Record<string, unknown>;
  summary: GotongSummary;
  provider: Address;
  requestId: Hex;
};

/**
 * A streamed answer: the provider has answered 200 and the events follow. Consume `events` to its
 * end (or leave early with `break`: the rest is read and paid for unseen); until then the channel
 * to the provider is held for this request.
 */
export type ChatStream = { kind: "stream"; provider: Address; requestId: Hex; events: AsyncIterable<ChatStreamEvent> };

/** What `complete` gives. */
export type Completion = Answer | ChatStream;

/** A sealed request prepared for a client that seals it itself: the provider it must be sealed to. */
export type PreparedSealedRequest = { requestId: Hex; provider: Address; hpkePublicKey: Hex; chainId: number; modelId: string };

/** A sealed answer the gateway cannot read, relayed as it comes (see SealedStreamEvent). Consume it like a ChatStream. */
export type SealedStream = { provider: Address; requestId: Hex; events: AsyncIterable<SealedStreamEvent> };

/** What one attempt sends: the endpoint, the body, and for a sealed request the client's envelope. */
export type Job = {
  path: "/v1/chat/completions" | "/v1/completions" | "/v1/embeddings";
  body: Record<string, unknown>;
  raw: Uint8Array;
  stream: boolean;
  signal: AbortSignal;
  key?: AuthorizedKey;
  opaque?: { requestId: Hex; envelope: Uint8Array };
};

/** What a provider that answered 200 gave: a whole answer, or one of the two streams. */
export type Served = Answer | ChatStream | { kind: "sealed"; stream: SealedStream };

/**
 * What one try at one provider came to: it served (the answer, or a stream to consume), or it
 * could not take the request and the next provider should be tried, for the reason `next` says.
 */
export type Attempt = { served: Served } | { next: GotongError };

/** What the steps of a request share: the gateway's services and settings, built once by createGateway. */
export type CoreDeps = {
  router: Router;
  channels: GatewayChannels;
  store: GatewayStore;
  receipts: ReceiptKeeper;
  lanes: ChannelLanes;
  providerInfo: ProviderInfo;
  /** The PaymentChannels EIP-712 domain: its chain id is sealed into every request's info. */
  domain: VoucherDomain;
  /** Time to wait for a provider's response headers (and for a receipt) before giving up on it. */
  timeoutMs: number;
  /** Seal requests end to end to each provider's registered HPKE key. */
  seal: boolean;
  apiKeys?: { reserve(key: AuthorizedKey, requestId: string, maxCost: bigint): void };
  countPrompt?: (weightsHash: Hex, input: PromptInput) => number | undefined;
  countEmbeddingInput?: EmbeddingCounter;
};
