/**
 * A rolling-window request counter per key: at most `limit` requests in any `windowMs`, counted in
 * memory by the gateway that serves them. Each key keeps at most `limit` timestamps.
 *
 * @example const limiter = createRateLimiter(); limiter.take("key_…", 60) // undefined, or ms to wait
 */
export function createRateLimiter(windowMs = 60_000) {
  const hits = new Map<string, number[]>();
  return {
    /**
     * Counts one request for `id` at `now`, unless `limit` were counted within the window before it.
     * @returns undefined when counted; otherwise the ms until the oldest of them leaves the window.
     */
    take(id: string, limit: number, now = Date.now()): number | undefined {
      const times = hits.get(id) ?? [];
      while (times.length && times[0]! <= now - windowMs) times.shift();
      // A limit lowered since (the key was re-read from the store) leaves extra timestamps: keep the newest.
      if (times.length >= limit) {
        const blocking = times[times.length - limit]!;
        hits.set(id, times);
        return blocking + windowMs - now;
      }
      times.push(now);
      hits.set(id, times);
      return undefined;
    },
  };
}
