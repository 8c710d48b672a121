import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { createEventDecoder, encodeEvent, STREAM_DONE } from "./events.ts";
import { createTextChunkEncoder, encodeReceiptTrailer, gotongFinal, gotongProgress, readGotongFields, readReceiptTrailer, RECEIPT_EVENT } from "./gotongEvents.ts";
import { receiptToJson, signReceipt, type SignedReceipt } from "./receipt.ts";

const hex32 = (byte: string) => `0x${byte.repeat(32)}` as Hex;
const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };

async function receipt(): Promise<SignedReceipt> {
  return signReceipt(privateKeyToAccount(generatePrivateKey()), domain, {
    requestId: hex32("01"),
    channelId: hex32("02"),
    weightsHash: hex32("03"),
    inputTokens: 12n,
    outputTokens: 34n,
    cost: 80n,
    cumulativeOwed: 1_000_080n,
    requestHash: hex32("04"),
    responseHash: hex32("05"),
  });
}

describe("createTextChunkEncoder", () => {
  const texts = ["Hi", "", 'a "quoted" \\ back', "line\nbreak\r\n", "héllo 🌏 \u2028", "\u0000\u001f"];

  it("writes exactly JSON.stringify of the chat chunk", () => {
    const encode = createTextChunkEncoder({ kind: "chat", id: "chatcmpl-\"x\"", created: 1_700_000_000, model: "tiny \"model\"", choices: 2 });
    for (const text of texts) {
      for (const index of [0, 1, 5]) {
        const expected = { id: 'chatcmpl-"x"', object: "chat.completion.chunk", created: 1_700_000_000, model: 'tiny "model"', choices: [{ index, delta: { content: text }, finish_reason: null }], gotong: { outputTokens: 7 } };
        expect(encode(index, text, 7)).toBe(JSON.stringify(expected));
      }
    }
  });

  it("writes exactly JSON.stringify of the completion chunk", () => {
    const encode = createTextChunkEncoder({ kind: "completion", id: "cmpl-1", created: 5, model: "m", choices: 1 });
    for (const text of texts) {
      const expected = { id: "cmpl-1", object: "text_completion", created: 5, model: "m", choices: [{ index: 0, text, finish_reason: null }], gotong: { outputTokens: 0 } };
      expect(encode(0, text, 0)).toBe(JSON.stringify(expected));
    }
  });
});

describe("gotong fields", () => {
  it("reads the running count of a text chunk", () => {
    expect(readGotongFields({ choices: [], gotong: gotongProgress(12) })).toEqual({ outputTokens: 12 });
    expect(readGotongFields(JSON.parse(createTextChunkEncoder({ kind: "chat", id: "c", created: 0, model: "m", choices: 1 })(0, "x", 3)))).toEqual({ outputTokens: 3 });
  });

  it("reads the receipt and cost of the final chunk", async () => {
    const signed = await receipt();
    const final = gotongFinal(signed);
    expect(final).toEqual({ receipt: receiptToJson(signed), cost: "80" });
    expect(readGotongFields(JSON.parse(JSON.stringify({ choices: [], gotong: final })))).toEqual({ final: { receipt: signed, cost: 80n } });
  });

  it("marks a malformed receipt as final and unreadable, so it is refused rather than skipped", () => {
    expect(readGotongFields({ gotong: { receipt: { cost: "1" }, cost: "1" } })).toEqual({ final: { receipt: undefined, cost: 1n } });
    expect(readGotongFields({ gotong: { receipt: null, cost: -1 } })).toEqual({ final: { receipt: undefined, cost: undefined } });
  });

  it("ignores what is not a count, and chunks without gotong", () => {
    for (const outputTokens of [-1, 1.5, "3", 2 ** 53, null]) expect(readGotongFields({ gotong: { outputTokens } })).toEqual({});
    expect(readGotongFields({ choices: [] })).toEqual({});
    expect(readGotongFields(null)).toEqual({});
    expect(readGotongFields("data")).toEqual({});
    expect(readGotongFields({ gotong: "x" })).toEqual({});
  });
});

describe("the receipt trailer", () => {
  it("is event: receipt with the receipt's JSON, and reads back", async () => {
    const signed = await receipt();
    const trailer = encodeReceiptTrailer(signed);
    expect(trailer).toBe(`event: receipt\ndata: ${JSON.stringify(receiptToJson(signed))}\n\n`);
    const [event] = createEventDecoder().push(trailer);
    expect(event!.event).toBe(RECEIPT_EVENT);
    expect(readReceiptTrailer(event!)).toEqual({ receipt: signed });
  });

  it("tells other events from a malformed trailer", () => {
    expect(readReceiptTrailer({ data: "{}" })).toBeUndefined();
    expect(readReceiptTrailer({ event: "gotong", data: "{}" })).toBeUndefined();
    expect(readReceiptTrailer({ event: RECEIPT_EVENT, data: "{not json" })).toEqual({ receipt: undefined });
    expect(readReceiptTrailer({ event: RECEIPT_EVENT, data: "{}" })).toEqual({ receipt: undefined });
  });

  it("ends a sealed stream after [DONE] and survives any cut", async () => {
    const signed = await receipt();
    const stream = `id: 3\n${encodeEvent({ data: "c2VhbGVk" })}${encodeEvent({ data: STREAM_DONE })}${encodeReceiptTrailer(signed)}`;
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = createEventDecoder();
      const events = [...decoder.push(stream.slice(0, cut)), ...decoder.push(stream.slice(cut)), ...decoder.end()];
      expect(events.map((e) => readReceiptTrailer(e)).filter(Boolean), `cut ${cut}`).toEqual([{ receipt: signed }]);
      expect(events.slice(0, 2)).toEqual([{ id: "3", data: "c2VhbGVk" }, { data: STREAM_DONE }]);
    }
  });
});
