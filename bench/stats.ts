// Summary statistics of latency samples: nearest-rank percentiles over a sorted copy, and the mean.

/**
 * Nearest-rank percentile: the smallest sample such that at least p % of the samples are ≤ it
 * (rank = ceil(p/100 · n), 1-based). p in (0, 100]. Returns NaN for no samples.
 */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile: p must be in (0, 100], got ${p}`);
  const n = samples.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p * n) / 100);
  return sorted[Math.min(n, Math.max(1, rank)) - 1];
}

/** Several percentiles with one sort. */
export function percentiles(samples: ArrayLike<number>, ps: readonly number[]): number[] {
  const n = samples.length;
  if (n === 0) return ps.map(() => Number.NaN);
  const sorted = Float64Array.from(samples).sort();
  return ps.map((p) => {
    if (!(p > 0 && p <= 100)) throw new RangeError(`percentile: p must be in (0, 100], got ${p}`);
    const rank = Math.ceil((p * n) / 100);
    return sorted[Math.min(n, Math.max(1, rank)) - 1];
  });
}

export function mean(samples: ArrayLike<number>): number {
  const n = samples.length;
  if (n === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i];
  return sum / n;
}
