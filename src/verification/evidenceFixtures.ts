import type { Hex, LocalAccount } from "viem";
import type { InferenceBackend } from "../provider/backend.ts";
import { parseGenerationRequest } from "../protocol/parseGenerationRequest.ts";
import { signReceipt } from "../protocol/receipt.ts";
import type { VoucherDomain } from "../protocol/voucher.ts";
import { sha256Of, type Evidence } from "./evidence.ts";

/**
 * Test and bench helpers: serve a request body on a real provider backend, as the provider server
 * does (one choice, the pieces joined in order), and sign evidence of it with a provider's key.
 */

/** What a backend answered to a body: the text and the counts the provider would bill. */
export type Served = { text: string; inputTokens: number; outputTokens: number };

/** Serves one request body on `backend` (the provider's own code path: prepare, then run). */
export async function serveBody(backend: InferenceBackend, body: Record<string, unknown>): Promise<Served> {
  const request = parseGenerationRequest(Array.isArray(body.messages) ? "chat" : "completion", body);
  const prepared = await backend.prepare(request);
  let text = "";
  const end = await prepared.run({ signal: new AbortController().signal, onText: (piece) => void (text += piece) });
  return { text, inputTokens: end.inputTokens ?? prepared.inputTokens, outputTokens: end.outputTokens };
}

/** Signs a receipt over `body` and `text` with the provider's key and returns the evidence. */
export async function signEvidence(
  account: LocalAccount,
  domain: VoucherDomain,
  args: { body: Record<string, unknown> | Uint8Array; text: string; inputTokens: number | bigint; outputTokens: number | bigint; weightsHash: Hex; requestId?: Hex },
): Promise<Evidence> {
  const request = args.body instanceof Uint8Array ? args.body : new TextEncoder().encode(JSON.stringify(args.body));
  const receipt = await signReceipt(account, domain, {
    requestId: args.requestId ?? sha256Of(request),
    channelId: `0x${"11".repeat(32)}`,
    weightsHash: args.weightsHash,
    inputTokens: BigInt(args.inputTokens),
    outputTokens: BigInt(args.outputTokens),
    cost: 1_000n,
    cumulativeOwed: 1_000n,
    requestHash: sha256Of(request),
    responseHash: sha256Of(args.text),
  });
  return { receipt, provider: account.address, request, response: args.text };
}
