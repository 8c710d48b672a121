import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import type { UpstreamResponse } from "../../common/postUpstream.ts";
import { receiptToJson, type SignedReceipt } from "../../protocol/receipt.ts";
import type { Offer } from "../discoverOffers.ts";
import type { RequestTerms } from "../core/requestTerms.ts";
import type { RelayContext } from "./RelayContext.ts";
import { relaySealed, type SealedStreamEvent } from "./sealedRelay.ts";
import { relaySse, type ChatStreamEvent } from "./sseRelay.ts";

// The relays against a provider stream given byte for byte (no network, no signature check: the
// context's accept records what the relay asked it to pay for).

const requestId = `0x${"11".repeat(32)}` as Hex;
const receipt: SignedReceipt = {
  requestId,
  channelId: `0x${"22".repeat(32)}`,
  weightsHash: `0x${"33".repeat(32)}`,
  inputTokens: 5n,
  outputTokens: 2n,
  cost: 21n,
  cumulativeOwed: 121n,
  requestHash: `0x${"44".repeat(32)}`,
  responseHash: `0x${"55".repeat(32)}`,
  signature: `0x${"66".repeat(65)}`,
};
const offer: Offer = {
  provider: "0x00000000000000000000000000000000000000aa",
  endpoint: "http://127.0.0.1:1",
  hpkePublicKey: `0x${"00".repeat(32)}`,
  stake: 1n,
  modelId: 7n,
  modelName: "m",
  weightsHash: receipt.weightsHash,
  royaltyBps: 0,
  price: { pricePerMillionInput: 1n, pricePerMillionOutput: 2n },
  capabilities: ["chat"],
};
const terms: RequestTerms = { maxInputTokens: 100n, maxOutputTokens: 50n, maxCost: 1_000n, copiesCost: 0n, choices: 1 };

/** A provider's answer whose body arrives in exactly these reads. */
function upstreamOf(reads: (string | Buffer)[]): UpstreamResponse {
  return {
    status: 200,
    header: () => undefined,
    body: (async function* () {
      for (const read of reads) yield typeof read === "string" ? Buffer.from(read) : read;
    })(),
  } as unknown as UpstreamResponse;
}

function contextFor() {
  const paid: { receipt: SignedReceipt | undefined; received: bigint }[] = [];
  const cut: bigint[] = [];
  const context: RelayContext = {
    offer,
    requestId,
    terms,
    signal: new AbortController().signal,
    accept: (r, received) => {
      paid.push({ receipt: r, received });
      if (!r) throw new Error("no receipt");
      return r;
    },
    cut: (observed) => void cut.push(observed),
  };
  return { context, paid, cut };
}

async function collect<T>(events: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const chunk = (content: string, gotong: Record<string, unknown>) => JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }], gotong });

describe("relaySse", () => {
  it("passes the provider's events on byte for byte (comments, CRLF, a character cut between reads), rewriting only the receipt's", async () => {
    const { context, paid, cut } = contextFor();
    const before = `: keep-alive\n\ndata: ${chunk("Hé", { outputTokens: 1 })}\r\n\r\ndata:${chunk("llo", { outputTokens: 2 })}\n\n`;
    const final = `data: ${chunk("", { outputTokens: 2, receipt: receiptToJson(receipt), cost: "21" })}\n\n`;
    const bytes = Buffer.from(before + final + "data: [DONE]\n\n");
    const at = bytes.indexOf("é") + 1; // inside the two bytes of "é"
    const events = await collect<ChatStreamEvent>(relaySse(upstreamOf([bytes.subarray(0, at), bytes.subarray(at, at + 40), bytes.subarray(at + 40)]), context));
    const chunks = events.filter((e): e is Extract<ChatStreamEvent, { type: "chunks" }> => e.type === "chunks");
    expect(Buffer.concat(chunks.map((e) => e.raw)).toString()).toBe(before);
    expect(chunks.flatMap((e) => e.chunks.map((c) => c.choices?.[0]?.delta?.content))).toEqual(["Hé", "llo"]);
    const finished = events.at(-1) as Extract<ChatStreamEvent, { type: "finished" }>;
    expect(finished.type).toBe("finished");
    expect(finished.summary.cost).toBe("21");
    expect(finished.chunk.gotong).toEqual(finished.summary);
    // "Hé" and "llo" are 6 bytes of text: at most 6 tokens, plus one per choice.
    expect(paid).toEqual([{ receipt, received: 7n }]);
    expect(cut).toEqual([]);
  });

  it("records a stream cut before its receipt, held to the provider's own running count", async () => {
    const { context, paid, cut } = contextFor();
    const events = await collect<ChatStreamEvent>(relaySse(upstreamOf([`data: ${chunk("Hello there", { outputTokens: 2 })}\n\ndata: ${chunk("!", { outputTokens: 3 })}\n\ndata: {"cho`]), context));
    expect(events.map((e) => e.type)).toEqual(["chunks", "failed"]);
    expect((events[1] as Extract<ChatStreamEvent, { type: "failed" }>).error.error.code).toBe("provider_stream_cut");
    expect(paid).toEqual([]);
    expect(cut).toEqual([3n]);
  });
});

describe("relaySealed", () => {
  it("passes the sealed frames on untouched, pays the clear trailer held to the frames' size, and keeps the trailer to itself", async () => {
    const { context, paid, cut } = contextFor();
    const frames = "id: 1\ndata: QUFBQQ\n\n: ping\n\nid: 2\r\ndata: QkJC\r\n\r\n";
    const trailer = `event: receipt\ndata: ${JSON.stringify(receiptToJson(receipt))}\n\n`;
    const bytes = Buffer.from(frames + trailer);
    const events = await collect<SealedStreamEvent>(relaySealed(upstreamOf([bytes.subarray(0, 9), bytes.subarray(9, 60), bytes.subarray(60)]), context));
    const raw = events.filter((e): e is Extract<SealedStreamEvent, { type: "frames" }> => e.type === "frames").map((e) => e.raw);
    expect(Buffer.concat(raw).toString()).toBe(frames);
    expect(events.at(-1)).toEqual({ type: "finished", summary: expect.objectContaining({ cost: "21", receiptId: requestId }) });
    // The frames' base64 text, 6 and 4 characters: no more than 10 bytes of text, plus one.
    expect(paid).toEqual([{ receipt, received: 11n }]);
    expect(cut).toEqual([]);
  });

  it("records a sealed stream cut before its trailer, held to the running count in the last frame's id", async () => {
    const { context, paid, cut } = contextFor();
    const events = await collect<SealedStreamEvent>(relaySealed(upstreamOf(["id: 4\ndata: QUFBQUFBQUFBQQ\n\nid: 5\ndata: QUFB"]), context));
    expect(events.map((e) => e.type)).toEqual(["frames", "failed"]);
    expect(paid).toEqual([]);
    expect(cut).toEqual([4n]);
  });
});
