import { describe, expect, it } from "vitest";
import { exportHistory, type Conversation } from "./history.ts";
import { HISTORY_FORMAT, mergeImported, parseHistoryFile } from "./importHistory.ts";

const conversation = (id: string, title = "Hello"): Conversation => ({
  id,
  title,
  model: "stories260K",
  createdAt: 1_700_000_000_000,
  updatedAt: 1_700_000_001_000,
  settings: { systemPrompt: "Be brief.", temperature: 0.3 },
  messages: [
    { id: "m1", role: "user", content: "Hello", createdAt: 1_700_000_000_000, status: "done" },
    {
      id: "m2",
      role: "assistant",
      content: "Hi",
      createdAt: 1_700_000_000_500,
      status: "done",
      model: "stories260K",
      requestId: `0x${"ab".repeat(32)}`,
      receipt: { receiptId: "r1", cost: "123", inputTokens: 5, outputTokens: 2, provider: "0x0000000000000000000000000000000000000001" },
      timing: { firstTokenMs: 20, totalMs: 80 },
    },
  ],
});

describe("importing a chat history file", () => {
  it("reads back exactly what Export history wrote", () => {
    const read = parseHistoryFile(exportHistory([conversation("c1"), conversation("c2", "Other")]));
    expect(read).toEqual({ ok: true, conversations: [conversation("c1"), conversation("c2", "Other")] });
  });

  it("keeps what an edit replaced and what an answer left out to fit the context, and refuses them malformed", () => {
    const edited = conversation("c1");
    edited.messages = [{ ...edited.messages[0]!, replaced: true }, { ...edited.messages[1]!, replaced: true, leftOut: 2 }];
    expect(parseHistoryFile(exportHistory([edited]))).toEqual({ ok: true, conversations: [edited] });
    const bad = JSON.parse(exportHistory([edited])) as { conversations: { messages: Record<string, unknown>[] }[] };
    bad.conversations[0]!.messages[0]!.replaced = "yes";
    expect(parseHistoryFile(JSON.stringify(bad))).toMatchObject({ ok: false, error: expect.stringContaining("message 1: has a replaced flag that is not true") });
    bad.conversations[0]!.messages[0]!.replaced = true;
    bad.conversations[0]!.messages[1]!.leftOut = -1;
    expect(parseHistoryFile(JSON.stringify(bad))).toMatchObject({ ok: false, error: expect.stringContaining("message 2: has a leftOut that is not a count of messages") });
  });

  it("refuses a file that is not JSON, not a history, or has one bad field, saying where", () => {
    expect(parseHistoryFile("not json")).toEqual({ ok: false, error: "This file is not JSON: it is not a Gotong chat history export." });
    expect(parseHistoryFile(JSON.stringify({ format: "something/1", conversations: [] }))).toEqual({
      ok: false,
      error: `This file is not a Gotong chat history: its "format" is "something/1", expected "${HISTORY_FORMAT}" (what Export history writes).`,
    });
    const bad = JSON.parse(exportHistory([conversation("c1"), conversation("c2", "Second")])) as { conversations: Conversation[] };
    (bad.conversations[1]!.messages[1]!.receipt as { cost: unknown }).cost = 1.5;
    expect(parseHistoryFile(JSON.stringify(bad))).toEqual({
      ok: false,
      error: 'This history file cannot be imported: Conversation 2 ("Second"), message 2: has a receipt without receiptId, cost (base units, digits), inputTokens, outputTokens and provider.',
    });
    const badTemp = JSON.parse(exportHistory([conversation("c1")])) as { conversations: { settings: { temperature: number } }[] };
    badTemp.conversations[0]!.settings.temperature = 7;
    const refused = parseHistoryFile(JSON.stringify(badTemp));
    expect(refused.ok).toBe(false);
    expect((refused as { error: string }).error).toContain("Temperature: enter a number from 0 to 2");
  });

  it("drops unknown fields and marks answers left writing as interrupted", () => {
    const file = JSON.parse(exportHistory([conversation("c1")])) as { conversations: Record<string, unknown>[] };
    file.conversations[0]!.extra = "<script>";
    (file.conversations[0]!.messages as Record<string, unknown>[])[1]!.status = "streaming";
    const read = parseHistoryFile(JSON.stringify(file));
    if (!read.ok) throw new Error(read.error);
    expect("extra" in read.conversations[0]!).toBe(false);
    expect(read.conversations[0]!.messages[1]!.status).toBe("incomplete");
    expect(read.conversations[0]!.messages[1]!.error?.code).toBe("interrupted");
  });

  it("merges without losing anything: the same conversation is skipped, a different one with the same id is added as a copy", () => {
    const kept = [conversation("c1"), conversation("c2")];
    const changed = { ...conversation("c2"), title: "Changed elsewhere" };
    const { add, skipped } = mergeImported(kept, [conversation("c1"), changed, conversation("c3")]);
    expect(skipped).toBe(1);
    expect(add.map((c) => c.title)).toEqual(["Changed elsewhere", "Hello"]);
    expect(add[0]!.id).not.toBe("c2");
    expect(add[1]!.id).toBe("c3");
  });
});
