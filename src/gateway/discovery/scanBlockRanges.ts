/** A block range, both ends included, as `eth_getLogs` takes it. */
export type BlockRange = { fromBlock: bigint; toBlock: bigint };

/** Options of {@link scanBlockRanges}. */
export type ScanOptions<T> = {
  fromBlock: bigint;
  toBlock: bigint;
  /** The most blocks one read may span. Public RPCs cap `eth_getLogs` (often at 1,000–10,000 blocks). */
  maxRange: number;
  /** Reads one range (at most `maxRange` blocks). */
  read(range: BlockRange): Promise<T>;
  /** Called with each range's result, in order, before the next is read: where progress is saved. */
  onPage(result: T, range: BlockRange): void | Promise<void>;
  signal?: AbortSignal;
};

/**
 * Whether an RPC refused a log query for its size (too many blocks or too many results) rather
 * than failing: providers word it differently ("block range is too large", "query returned more
 * than 10000 results", "exceed maximum block range", "Log response size exceeded"), so this goes
 * by the words they share. Those ranges are read again in halves; any other error (a rate limit
 * included) is thrown.
 */
export function isRangeRefused(error: unknown): boolean {
  const text = `${(error as { message?: string })?.message ?? ""} ${(error as { details?: string })?.details ?? ""}`;
  // A rate limit ("429 Too Many Requests", "rate limit exceeded") is no comment on the range's size.
  if (/rate.?limit|too many requests|\b429\b/i.test(text)) return false;
  return /range|too many|too large|more than \d+|exceed|limit|response size/i.test(text);
}

/**
 * Reads `[fromBlock, toBlock]` in consecutive ranges of at most `maxRange` blocks, oldest first,
 * handing each result to `onPage` before the next read (so a scan stopped halfway resumes after
 * the last page saved). A range the RPC refuses as too large is halved, down to one block, and
 * the smaller size kept for the rest of the scan.
 *
 * @returns How many ranges were read (refused ones not counted).
 * @example await scanBlockRanges({ fromBlock: 0n, toBlock: head, maxRange: 2_000, read: (r) => client.getLogs(r), onPage: apply });
 */
export async function scanBlockRanges<T>(options: ScanOptions<T>): Promise<number> {
  if (!Number.isSafeInteger(options.maxRange) || options.maxRange < 1) throw new RangeError(`maxRange must be a whole number of blocks, at least 1 (got ${options.maxRange})`);
  let size = BigInt(options.maxRange);
  let from = options.fromBlock;
  let pages = 0;
  while (from <= options.toBlock) {
    options.signal?.throwIfAborted();
    const range = { fromBlock: from, toBlock: min(from + size - 1n, options.toBlock) };
    let result: T;
    try {
      result = await options.read(range);
    } catch (error) {
      const span = range.toBlock - range.fromBlock + 1n;
      if (span > 1n && isRangeRefused(error)) {
        size = span / 2n;
        continue;
      }
      throw error;
    }
    await options.onPage(result, range);
    pages++;
    from = range.toBlock + 1n;
  }
  return pages;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
