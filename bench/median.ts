/** The `q` quantile of `xs` (nearest rank, rounding down): `quantile(xs, 0.5)` is the median. */
export function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** The median of `xs` (the upper middle one when their count is even). */
export const median = (xs: number[]) => quantile(xs, 0.5);
