import { getJson } from "../lib/api.ts";
import type { Conversation, StoredMessage } from "./history.ts";
import type { ChatReceipt } from "./sealedChat.ts";

/** How many of the gateway's latest receipts are read to find the ones the page is missing. */
const RECEIPTS_READ = 500;

/** A receipt as `GET /gotong/receipts` lists it. */
type ListedReceipt = ChatReceipt & { model: string; createdAt: number };

/** An answer that was (or may have been) paid for and has no receipt yet. */
const missesReceipt = (m: StoredMessage) => m.requestId !== undefined && !m.receipt && m.status !== "streaming";

/**
 * The receipts the gateway recorded for answers that got none in their stream (stopped, cut,
 * interrupted by a reload), by request id: so the costs on the page add up to what the gateway
 * paid. The gateway settles a cut request with the next request on the same channel, so an
 * answer may wait for its cost until then; an answer the provider never started has none.
 *
 * @returns request id (lower case) → receipt, for those it found; empty without a request (nothing missing)
 */
export async function findReceipts(conversations: Conversation[]): Promise<Map<string, ChatReceipt>> {
  const found = new Map<string, ChatReceipt>();
  if (!conversations.some((c) => c.messages.some(missesReceipt))) return found;
  const { data } = await getJson<{ data: ListedReceipt[] }>(`/gotong/receipts?limit=${RECEIPTS_READ}`);
  for (const r of data) {
    found.set(r.receiptId.toLowerCase(), { receiptId: r.receiptId, cost: r.cost, inputTokens: r.inputTokens, outputTokens: r.outputTokens, provider: r.provider, modelId: r.modelId, weightsHash: r.weightsHash });
  }
  return found;
}

/** `conversation` with the receipts of `found` given to its answers that miss one, or undefined when none applies. */
export function applyReceipts(conversation: Conversation, found: Map<string, ChatReceipt>): Conversation | undefined {
  let touched = false;
  const messages = conversation.messages.map((m) => {
    const receipt = missesReceipt(m) ? found.get(m.requestId!.toLowerCase()) : undefined;
    if (!receipt) return m;
    touched = true;
    return { ...m, receipt };
  });
  return touched ? { ...conversation, messages } : undefined;
}
