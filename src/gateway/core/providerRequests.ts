import type { Hex } from "viem";
import { GotongError } from "../../common/errors.ts";
import { PROTOCOL_VERSION_HEADERS } from "../../protocol/protocolVersion.ts";
import { receiptFromJson, type SignedReceipt } from "../../protocol/receipt.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Fetches the receipt of one of our requests from the provider at `endpoint`, waiting (up to
 * `waitMs`) while it still runs. Undefined when the provider never served it.
 *
 * @throws GotongError `provider_unavailable` when the provider answers anything but a receipt, 202 (still running) or 404.
 */
export async function fetchReceipt(endpoint: string, requestId: Hex, waitMs: number): Promise<SignedReceipt | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const res = await fetch(`${endpoint}/gotong/receipts/${requestId}`, { headers: PROTOCOL_VERSION_HEADERS, signal: AbortSignal.timeout(5_000) });
    if (res.status === 404) return undefined;
    if (res.status === 202 && Date.now() < deadline) {
      await res.body?.cancel();
      await sleep(250);
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new GotongError(`The provider at ${endpoint} answered ${res.status} to the lookup of the receipt of request ${requestId}`, {
        code: "provider_unavailable",
        status: 502,
        retryable: true,
        hint: "The request stays pending and is settled from the provider's receipt on the channel's next use.",
      });
    }
    return receiptFromJson(await res.json());
  }
}

/**
 * Asks the provider at `endpoint` to stop generating a request whose caller left. Until it has
 * started there, or while the answer may still be on its way, it is asked again; `done` says when
 * to give up.
 */
export async function cancelUpstream(endpoint: string, requestId: Hex, done: () => boolean): Promise<void> {
  while (!done()) {
    const res = await fetch(`${endpoint}/gotong/requests/${requestId}/cancel`, { method: "POST", headers: PROTOCOL_VERSION_HEADERS, signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    const answer = (await res?.json().catch(() => undefined)) as { cancelled?: boolean } | undefined;
    if (answer?.cancelled) return;
    await sleep(250);
  }
}
