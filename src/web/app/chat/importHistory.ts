import { parseChatSettings } from "./chatSettings.ts";
import { markInterrupted, newId, type ChatSettings, type Conversation, type StoredMessage } from "./history.ts";

/** The format exportHistory writes, and the only one import takes. */
export const HISTORY_FORMAT = "gotong.chat-history/1";
/** The largest file import reads (a history of long chats is a few megabytes; this refuses a wrong file early). */
export const MAX_HISTORY_FILE_BYTES = 50 * 1024 * 1024;

/** Why a file was refused, naming where in it: the person's history is left as it was. */
export type HistoryFileProblem = { ok: false; error: string };

const STATUSES = new Set(["done", "streaming", "incomplete", "error"]);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

class Refused extends Error {}

/** One message, rebuilt field by field (nothing unknown is kept), or a refusal that says where. */
function readMessage(v: unknown, where: string): StoredMessage {
  const refuse = (what: string) => {
    throw new Refused(`${where}: ${what}`);
  };
  if (!isObject(v)) refuse("is not a message object");
  const m = v as Record<string, unknown>;
  if (typeof m.id !== "string" || m.id === "") refuse("has no id");
  if (m.role !== "user" && m.role !== "assistant") refuse(`has role ${JSON.stringify(m.role)} (expected "user" or "assistant")`);
  if (typeof m.content !== "string") refuse("has no text (content)");
  if (!isTime(m.createdAt)) refuse("has no valid createdAt time");
  if (typeof m.status !== "string" || !STATUSES.has(m.status)) refuse(`has status ${JSON.stringify(m.status)}`);
  const message: StoredMessage = { id: m.id as string, role: m.role as StoredMessage["role"], content: m.content as string, createdAt: m.createdAt as number, status: m.status as StoredMessage["status"] };
  if (m.model !== undefined) {
    if (typeof m.model !== "string") refuse("has a model that is not text");
    message.model = m.model as string;
  }
  if (m.requestId !== undefined) {
    if (typeof m.requestId !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(m.requestId)) refuse("has a requestId that is not 32 bytes of hex");
    message.requestId = m.requestId as string;
  }
  if (m.receipt !== undefined) {
    const r = m.receipt;
    if (!isObject(r) || typeof r.receiptId !== "string" || typeof r.cost !== "string" || !/^\d{1,78}$/.test(r.cost) || !isCount(r.inputTokens) || !isCount(r.outputTokens) || typeof r.provider !== "string") {
      refuse("has a receipt without receiptId, cost (base units, digits), inputTokens, outputTokens and provider");
    }
    const receipt = r as Record<string, unknown>;
    message.receipt = { receiptId: receipt.receiptId as string, cost: receipt.cost as string, inputTokens: receipt.inputTokens as number, outputTokens: receipt.outputTokens as number, provider: receipt.provider as string };
    if (typeof receipt.modelId === "string") message.receipt.modelId = receipt.modelId;
    if (typeof receipt.weightsHash === "string") message.receipt.weightsHash = receipt.weightsHash;
  }
  if (m.timing !== undefined) {
    const t = m.timing;
    if (!isObject(t) || !isTime(t.firstTokenMs) || !isTime(t.totalMs)) refuse("has a timing without firstTokenMs and totalMs");
    message.timing = { firstTokenMs: (t as Record<string, number>).firstTokenMs!, totalMs: (t as Record<string, number>).totalMs! };
  }
  if (m.leftOut !== undefined) {
    if (!isCount(m.leftOut)) refuse("has a leftOut that is not a count of messages");
    message.leftOut = m.leftOut as number;
  }
  if (m.replaced !== undefined) {
    if (m.replaced !== true) refuse("has a replaced flag that is not true");
    message.replaced = true;
  }
  if (m.error !== undefined) {
    const e = m.error;
    if (!isObject(e) || typeof e.message !== "string" || typeof e.code !== "string" || (e.hint !== undefined && typeof e.hint !== "string")) refuse("has an error without message and code");
    const err = e as Record<string, string>;
    message.error = { message: err.message!, code: err.code!, ...(err.hint !== undefined ? { hint: err.hint } : {}) };
  }
  return message;
}

/** One conversation, rebuilt, or a refusal that says which. */
function readConversation(v: unknown, index: number): Conversation {
  const where = `Conversation ${index + 1}`;
  if (!isObject(v)) throw new Refused(`${where} is not a conversation object`);
  if (typeof v.id !== "string" || v.id === "") throw new Refused(`${where} has no id`);
  const named = typeof v.title === "string" ? `${where} ("${v.title.slice(0, 40)}")` : where;
  if (typeof v.title !== "string") throw new Refused(`${where} has no title`);
  if (typeof v.model !== "string") throw new Refused(`${named} has no model`);
  if (!isTime(v.createdAt) || !isTime(v.updatedAt)) throw new Refused(`${named} has no valid createdAt and updatedAt times`);
  if (!Array.isArray(v.messages)) throw new Refused(`${named} has no messages list`);
  const conversation: Conversation = {
    id: v.id,
    title: v.title,
    model: v.model,
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
    messages: v.messages.map((m, i) => readMessage(m, `${named}, message ${i + 1}`)),
  };
  if (v.settings !== undefined) {
    const s = v.settings;
    if (!isObject(s)) throw new Refused(`${named} has settings that are not an object`);
    const parsed = parseChatSettings({
      systemPrompt: typeof s.systemPrompt === "string" ? s.systemPrompt : "",
      temperature: typeof s.temperature === "number" ? String(s.temperature) : s.temperature === undefined ? "" : "not a number",
      topP: typeof s.topP === "number" ? String(s.topP) : s.topP === undefined ? "" : "not a number",
    });
    if (!parsed.ok) throw new Refused(`${named}: ${parsed.error}`);
    conversation.settings = parsed.value satisfies ChatSettings;
  }
  return conversation;
}

/**
 * Reads a history file (as exportHistory writes it) and checks every field of every conversation
 * before anything is kept: a file that is not one, or has one bad message, is refused whole, with
 * where the problem is, so an import never half-happens. Fields it does not know are dropped.
 * Answers left "Writing…" in the file are marked interrupted, as after a reload.
 *
 * @returns the conversations, or the problem
 * @example const read = parseHistoryFile(await file.text()); if (!read.ok) show(read.error);
 */
export function parseHistoryFile(text: string): { ok: true; conversations: Conversation[] } | HistoryFileProblem {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, error: "This file is not JSON: it is not a Gotong chat history export." };
  }
  if (!isObject(data) || data.format !== HISTORY_FORMAT) {
    return { ok: false, error: `This file is not a Gotong chat history: its "format" is ${isObject(data) ? JSON.stringify(data.format) ?? "missing" : "missing"}, expected "${HISTORY_FORMAT}" (what Export history writes).` };
  }
  if (!Array.isArray(data.conversations)) return { ok: false, error: 'This history file has no "conversations" list.' };
  try {
    const conversations = data.conversations.map(readConversation);
    markInterrupted(conversations);
    return { ok: true, conversations };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, error: `This history file cannot be imported: ${error.message}.` };
    throw error;
  }
}

/**
 * What importing adds to the history kept here, losing nothing on either side: a conversation
 * already kept (same id, same content) is skipped; one with a kept id but other content comes in
 * as a copy under a new id, so neither replaces the other.
 *
 * @returns the conversations to save, and how many were already there
 */
export function mergeImported(kept: Conversation[], imported: Conversation[]): { add: Conversation[]; skipped: number } {
  const byId = new Map(kept.map((c) => [c.id, c]));
  const add: Conversation[] = [];
  let skipped = 0;
  for (const c of imported) {
    const same = byId.get(c.id);
    if (!same) {
      add.push(c);
      byId.set(c.id, c);
    } else if (canonical(same) === canonical(c)) {
      skipped++;
    } else {
      const copy = { ...c, id: newId() };
      add.push(copy);
      byId.set(copy.id, copy);
    }
  }
  return { add, skipped };
}

/** A conversation's content in one spelling (fields rebuilt in order), to tell an exact re-import from a different one. */
function canonical(c: Conversation): string {
  try {
    return JSON.stringify(readConversation(JSON.parse(JSON.stringify(c)), 0));
  } catch {
    return JSON.stringify(c);
  }
}
