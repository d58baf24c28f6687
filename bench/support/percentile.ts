/** Nearest-rank percentile (p in 0–100) of unsorted values; NaN when empty. With 5 values p99 is the maximum; Infinity sorts last. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
