import { describe, expect, it } from "vitest";
import { applyReceipts } from "./findReceipts.ts";
import type { Conversation, StoredMessage } from "./history.ts";
import type { ChatReceipt } from "./sealedChat.ts";

const receipt = (id: string, cost: string): ChatReceipt => ({ receiptId: id, cost, inputTokens: 3, outputTokens: 5, provider: "0x00000000000000000000000000000000000000aa" });
const answer = (id: string, fields: Partial<StoredMessage>): StoredMessage => ({ id, role: "assistant", content: "x", createdAt: 0, status: "incomplete", ...fields });

describe("applyReceipts: a stopped or interrupted answer gets the cost the gateway settled for it", () => {
  const conversation: Conversation = {
    id: "c",
    title: "t",
    model: "m",
    createdAt: 0,
    updatedAt: 0,
    messages: [
      answer("stopped", { requestId: "0xAB" }),
      answer("streaming", { requestId: "0xcd", status: "streaming" }), // still running: its stream brings its receipt
      answer("paid", { requestId: "0xef", status: "done", receipt: receipt("0xef", "7") }),
      answer("never-prepared", { status: "error" }),
    ],
  };

  it("matches by request id, whatever its case, and leaves the others alone", () => {
    const found = new Map([["0xab", receipt("0xAB", "1234")], ["0xcd", receipt("0xcd", "1")], ["0xef", receipt("0xef", "999")]]);
    const updated = applyReceipts(conversation, found)!;
    expect(updated.messages.map((m) => m.receipt?.cost)).toEqual(["1234", undefined, "7", undefined]);
    expect(conversation.messages[0]!.receipt).toBeUndefined(); // a new conversation; the old one is untouched
  });

  it("returns undefined when nothing applies", () => {
    expect(applyReceipts(conversation, new Map([["0x99", receipt("0x99", "5")]]))).toBeUndefined();
  });
});
