/** One budget period of a key: `[start, end)`, in ms since the epoch. */
export type KeyPeriod = { start: number; end: number };

/**
 * The budget period of a key created at `createdAt` with periods of `periodSeconds` that holds
 * `now`. Periods follow one another from the key's creation, so each key resets on its own clock
 * and a period never depends on when the gateway was started.
 *
 * @example keyPeriod(0, 86_400, 90_000_000) // { start: 86_400_000, end: 172_800_000 }
 */
export function keyPeriod(createdAt: number, periodSeconds: number, now: number): KeyPeriod {
  const length = periodSeconds * 1000;
  const index = Math.max(0, Math.floor((now - createdAt) / length));
  const start = createdAt + index * length;
  return { start, end: start + length };
}
