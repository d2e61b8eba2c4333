// A sample in tied form: distinct values ascending with their counts. This is what the rank tests consume:
// a LatencyHistogram becomes one tied value per bucket (ARCHITECTURE.md: ranks by bucket, ties exact within
// a bucket), so a test costs O(buckets), not O(samples).
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
  for (const v of sorted) {
    const last = out.values.length - 1;
    if (last >= 0 && out.values[last] === v) out.counts[last]++;
    else {
      out.values.push(v);
      out.counts.push(1);
    }
  }
  return out;
}

/** One tied value per non-empty bucket: 0 for the zero bucket, else the bucket's representative (ns). */
export function tiedSampleOfHistogram(h: LatencyHistogram): TiedSample {
  const out: TiedSample = { values: [], counts: [] };
  for (const b of h.buckets()) {
    // 2*lo*hi/(lo+hi): the bucket value with the smallest worst-case relative error (as LatencyHistogram.quantile).
    out.values.push(
      b.index === -Infinity ? 0 : (2 * b.lowerNanos * b.upperNanos) / (b.lowerNanos + b.upperNanos),
    );
    out.counts.push(b.count);
  }
  return out;
}
