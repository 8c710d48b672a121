import type { BatchItem, PrioritizedBatchItem } from "node-llama-cpp";

/**
 * How a batch of `size` tokens is shared among the sequences that have tokens waiting (a
 * node-llama-cpp `itemPrioritizationStrategy`): the shortest demands first, each served whole
 * while the batch allows an equal share, and what is left split evenly among the longer ones. A
 * stream in flight waits with one token, so it is in every step it is waiting for; a newcomer's
 * prompt is evaluated in the rest, a chunk per step, and several prompts share that rest.
 *
 * node-llama-cpp's own "maximumParallelism" does not do that in 3.22: it grants a long prompt more
 * than the batch holds (its second pass never subtracts what it grants), and as the batch is then
 * filled in queue order, a prompt queued first fills every step until it is evaluated; measured,
 * three streams in flight got no token for 500 ms while a 500-token prompt went through.
 *
 * Higher `evaluationPriority` goes first among demands of the same length.
 */
export function prioritizeStreams({ items, size }: { items: readonly BatchItem[]; size: number }): PrioritizedBatchItem[] {
  const order = items
    .map((item, at) => ({ item, at }))
    .sort((a, b) => a.item.tokens.length - b.item.tokens.length || b.item.evaluationPriority - a.item.evaluationPriority || a.at - b.at);
  const granted: PrioritizedBatchItem[] = [];
  let left = size;
  for (const [k, { item }] of order.entries()) {
    if (left <= 0) break;
    // An equal share of what is left among the demands not yet served, at least one token.
    const share = Math.max(1, Math.floor(left / (order.length - k)));
    const processAmount = Math.min(item.tokens.length, share, left);
    granted.push({ item, processAmount });
    left -= processAmount;
  }
  // Equal shares round down: the longest demands take what rounding left over.
  for (let k = granted.length - 1; k >= 0 && left > 0; k--) {
    const entry = granted[k]!;
    const more = Math.min(entry.item.tokens.length - entry.processAmount, left);
    entry.processAmount += more;
    left -= more;
  }
  return granted;
}
