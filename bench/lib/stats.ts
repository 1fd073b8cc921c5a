/** Summary statistics of a list of durations (or any numbers). */
export interface Summary {
  n: number;
  min: number;
  median: number;
  /** Nearest-rank 90th percentile. */
  p90: number;
  mean: number;
  max: number;
}

/** Median (mean of the two middle values for an even count), nearest-rank p90, mean, min, max. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, min: NaN, median: NaN, p90: NaN, mean: NaN, max: NaN };
  const s = [...values].sort((a, b) => a - b);
  const at = (i: number): number => s[Math.min(Math.max(i, 0), s.length - 1)]!;
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
  const p90 = at(Math.ceil(0.9 * s.length) - 1);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, min: at(0), median, p90, mean, max: at(s.length - 1) };
}
