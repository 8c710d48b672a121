import type { ChatReceipt } from "./sealedChat.ts";

/** A message kept in this browser. */
export type StoredMessage = {
  id: string;
  role: "user" | "assistant";
  content: string;
  createdAt: number;
  /** done; streaming (being written); incomplete (stream broke, partial kept); error (nothing came). */
  status: "done" | "streaming" | "incomplete" | "error";
  model?: string;
  /**
   * The gateway's id for the paid request behind an answer, kept from the moment it is prepared:
   * an answer stopped, cut or interrupted by a reload gets no receipt in its stream, but it may have
   * been charged; its receipt is found by this id once the gateway settles it (see findReceipts).
   */
  requestId?: string;
  receipt?: ChatReceipt;
  /** How an answer arrived, measured in this browser from Send (see {@link AnswerTiming}). */
  timing?: AnswerTiming;
  error?: { message: string; hint?: string; code: string };
  /**
   * Set on a question the person edited, and on everything after it at that moment: kept in the
   * log with its cost (it was paid for), never sent to the model again. The edited question and its
   * answer follow at the end of the conversation.
   */
  replaced?: true;
  /** How many earlier messages an answer's request left out, oldest first, to fit the model's context (see fitHistory). */
  leftOut?: number;
};

/**
 * When an answer's text arrived, in milliseconds after Send: the first piece, and the last. The
 * time to the first token includes the gateway choosing a provider and the prompt being read.
 */
export type AnswerTiming = { firstTokenMs: number; totalMs: number };

/**
 * How a conversation asks the model, sent with each of its turns. Unset sampling values are not
 * sent, so the provider's defaults apply.
 */
export type ChatSettings = { systemPrompt?: string; temperature?: number; topP?: number };

/** A conversation kept in this browser. */
export type Conversation = { id: string; title: string; model: string; createdAt: number; updatedAt: number; messages: StoredMessage[]; settings?: ChatSettings };

const DB_NAME = "gotong-chat";
const STORE = "conversations";

/**
 * Chat history, only in this browser (IndexedDB): never sent anywhere except, turn by turn, sealed
 * to the provider. Falls back to memory (lost on reload, and said so) where IndexedDB is unavailable.
 */
export interface ChatHistory {
  readonly persistent: boolean;
  list(): Promise<Conversation[]>;
  save(conversation: Conversation): Promise<void>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
}

function promisify<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Opens the history store. */
export async function openChatHistory(): Promise<ChatHistory> {
  let db: IDBDatabase;
  try {
    db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "id" });
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
      open.onblocked = () => reject(new Error("blocked"));
    });
  } catch {
    return memoryHistory();
  }
  const tx = (mode: IDBTransactionMode) => db.transaction(STORE, mode).objectStore(STORE);
  return {
    persistent: true,
    async list() {
      const all = await promisify(tx("readonly").getAll() as IDBRequest<Conversation[]>);
      return all.sort((a, b) => b.updatedAt - a.updatedAt);
    },
    async save(conversation) {
      await promisify(tx("readwrite").put(structuredClone(conversation)));
    },
    async remove(id) {
      await promisify(tx("readwrite").delete(id));
    },
    async clear() {
      await promisify(tx("readwrite").clear());
    },
  };
}

function memoryHistory(): ChatHistory {
  const items = new Map<string, Conversation>();
  return {
    persistent: false,
    list: async () => [...items.values()].sort((a, b) => b.updatedAt - a.updatedAt),
    save: async (c) => void items.set(c.id, structuredClone(c)),
    remove: async (id) => void items.delete(id),
    clear: async () => items.clear(),
  };
}

/** The whole history as a JSON file's text, for the person to keep. */
export function exportHistory(conversations: Conversation[]): string {
  return JSON.stringify({ format: "gotong.chat-history/1", exportedAt: new Date().toISOString(), conversations }, null, 2);
}

/** A random id for a conversation or message. */
export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Answers left "streaming" by a page that closed or reloaded mid-answer: nothing will ever finish
 * them, so they become incomplete (what arrived is kept) or unanswered, with a reason, and can be
 * asked again. Returns the conversations it changed.
 */
export function markInterrupted(conversations: Conversation[]): Conversation[] {
  const changed: Conversation[] = [];
  for (const c of conversations) {
    let touched = false;
    for (const m of c.messages) {
      if (m.status !== "streaming") continue;
      m.status = m.content ? "incomplete" : "error";
      m.error = {
        message: "The page was closed or reloaded while this answer was being written.",
        hint: "What arrived is kept. If the provider had started, the tokens it sent are charged; the cost shows here once the gateway settles it.",
        code: "interrupted",
      };
      touched = true;
    }
    if (touched) changed.push(c);
  }
  return changed;
}
