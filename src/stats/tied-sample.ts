// A sample in tied form: distinct values ascending with their counts. This is what the rank tests consume:
// a latency histogram becomes one tied value per bucket (ARCHITECTURE.md: ranks by bucket, ties exact within
// a bucket), so a test costs O(buckets), not O(samples). On histograms the values are bucket
// representatives, not the raw latencies: Mann-Whitney U and Hodges-Lehmann then describe the bucketed
// sample (equal to SciPy/R on it), within 0.54% of the raw values for the accumulator's own buckets and only
// to the bucket for coarse ones (the evidence says which, see FixedHorizonEvidence.sample).
import type { LatencyHistogram } from '../accumulate/latency-histogram.js';

export interface TiedSample {
  /** Distinct values, strictly ascending. */
  values: number[];
  /** counts[i] > 0 copies of values[i]. */
  counts: number[];
}

export function tiedSampleSize(s: TiedSample): number {
  let n = 0;
  for (const c of s.counts) n += c;
  return n;
}

/** Tied form of raw values (sorts a copy). */
export function tiedSampleOf(values: readonly number[]): TiedSample {
  const sorted = [...values].sort((a, b) => a - b);
  const out: TiedSample = { values: [], counts: [] };
  for (const v of sorted) push(out, v, 1);
  return out;
}

/** Tied form of (value, count) pairs in any order (sorts a copy, merges equal values). */
export function tiedSampleOfPairs(pairs: readonly { value: number; count: number }[]): TiedSample {
  const sorted = pairs.filter((p) => p.count > 0).sort((a, b) => a.value - b.value);
  const out: TiedSample = { values: [], counts: [] };
  for (const p of sorted) push(out, p.value, p.count);
  return out;
}

/** One tied value per non-empty bucket: 0 for the zero bucket, else the bucket's representative (ns). */
export function tiedSampleOfHistogram(h: LatencyHistogram): TiedSample {
  const out: TiedSample = { values: [], counts: [] };
  for (const b of h.buckets()) {
    // 2*lo*hi/(lo+hi): the bucket value with the smallest worst-case relative error (as LatencyHistogram.quantile).
    push(
      out,
      b.index === -Infinity ? 0 : (2 * b.lowerNanos * b.upperNanos) / (b.lowerNanos + b.upperNanos),
      b.count,
    );
  }
  return out;
}

function push(out: TiedSample, value: number, count: number): void {
  const last = out.values.length - 1;
  if (last >= 0 && out.values[last] === value) out.counts[last] += count;
  else {
    out.values.push(value);
    out.counts.push(count);
  }
}
