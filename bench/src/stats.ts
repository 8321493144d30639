/**
 * The statistics the report is made of. Kept pure and small so the unit test can pin them down:
 * a benchmark whose arithmetic is wrong is worse than none.
 */

export interface Summary {
  /** Number of samples. */
  n: number;
  median: number;
  min: number;
  max: number;
}

function finite(values: readonly number[]): number[] {
  return values.filter((value) => Number.isFinite(value));
}

/** Median of the finite values; NaN when there are none. Even counts average the middle two. */
export function median(values: readonly number[]): number {
  const sorted = finite(values).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function min(values: readonly number[]): number {
  const kept = finite(values);
  return kept.length === 0 ? Number.NaN : kept.reduce((a, b) => Math.min(a, b));
}

export function max(values: readonly number[]): number {
  const kept = finite(values);
  return kept.length === 0 ? Number.NaN : kept.reduce((a, b) => Math.max(a, b));
}

export function summarize(values: readonly number[]): Summary {
  return { n: finite(values).length, median: median(values), min: min(values), max: max(values) };
}

/** `value / baseline`; NaN when either is missing or the baseline is zero. */
export function ratio(value: number, baseline: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return Number.NaN;
  return value / baseline;
}

/**
 * Percentile `p` (0–100) of values already sorted ascending, by linear interpolation between the
 * two nearest ranks (the "R-7" definition spreadsheets and numpy use). NaN for no values.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0 || !Number.isFinite(p)) return Number.NaN;
  const clamped = Math.min(100, Math.max(0, p));
  const rank = (clamped / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] as number;
  const highValue = sorted[high] as number;
  return lowValue + (highValue - lowValue) * (rank - low);
}

/** Percentiles of an unsorted sample; the input is not modified. */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => percentileOfSorted(sorted, p));
}

/**
 * Least-squares slope of `y` over `x` (e.g. heap bytes per message over a soak); NaN with fewer
 * than two distinct x values.
 */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  let sumX = 0;
  let sumY = 0;
  for (let i = 0; i < n; i++) {
    sumX += xs[i] as number;
    sumY += ys[i] as number;
  }
  const meanX = sumX / n;
  const meanY = sumY / n;
  let numerator = 0;
  let denominator = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - meanX;
    numerator += dx * ((ys[i] as number) - meanY);
    denominator += dx * dx;
  }
  return denominator === 0 ? Number.NaN : numerator / denominator;
}

/** Heap after GC at message counts: `[messages, heapUsed bytes]`. */
export type HeapSample = readonly [number, number];

/**
 * The soak's leak check. The first interval fills bounded caches (duplicate window, span queue,
 * metric series), so only samples from `firstInterval` messages on count: heap there and at the
 * end, and the least-squares trend in bytes per message.
 */
export function steadyHeapTrend(
  samples: readonly HeapSample[],
  firstInterval: number,
): { first: number; last: number; bytesPerMessage: number } {
  const steady = samples.filter(([messages]) => messages >= firstInterval);
  return {
    first: steady[0]?.[1] ?? Number.NaN,
    last: steady.at(-1)?.[1] ?? Number.NaN,
    bytesPerMessage: slope(
      steady.map(([messages]) => messages),
      steady.map(([, heap]) => heap),
    ),
  };
}
