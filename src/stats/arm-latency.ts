// One arm's latencies as the statistics read them, built once per evaluation from its two stores
// (accumulate/arm-state.ts): their rank views for the quantile bounds (ranked-buckets.ts), their
// representatives for point estimates and the fixed-horizon rank tests (tied-sample.ts), every value as an
// interval (the accumulator's buckets and the coarse, interval-censored ones together) for the mean's
// variance bound, and the exact sum the mean comparison needs. Each view is built on first use: a tick reads
// every bucket of every arm, so nothing is built that no metric asks for.
import type { ArmState } from '../accumulate/arm-state.js';
import type { CoarseInterval } from '../accumulate/coarse-latency.js';
import type { LatencyHistogram } from '../accumulate/latency-histogram.js';
import type { EvaluationBuffers } from './evaluation-buffers.js';
import { type Doubles, type LatencyInterval, type RankedBuckets, rankedIntervals } from './ranked-buckets.js';
import { type TiedSample, tiedSampleOfPairs } from './tied-sample.js';

/**
 * The representative of a coarse interval: its geometric midpoint; half its upper edge when it starts at 0
 * (the first explicit bucket); its lower edge when it is open above (the overflow bucket without a max).
 */
export function coarseRepresentative(lowerNanos: number, upperNanos: number): number {
  if (upperNanos === Infinity) return lowerNanos;
  if (lowerNanos <= 0) return upperNanos / 2;
  return Math.sqrt(lowerNanos * upperNanos);
}

/** 2 lo hi / (lo + hi): the accumulator bucket's value with the smallest worst-case relative error; 0 at zero. */
function fineRepresentative(lower: number, upper: number, isZero: boolean): number {
  return isZero ? 0 : (2 * lower * upper) / (lower + upper);
}

/** The first position whose cumulative count reaches `rank` (the last when none does). */
function firstReaching(cumulative: Doubles, rank: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] >= rank) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export class ArmLatency {
  readonly n: number;
  /** Values known only to a coarse bucket (explicit-bucket or low-scale exponential points). */
  readonly coarseCount: number;
  /** Exact sum of the values that had one, and how many had none (mean comparison). */
  readonly sumNanos: number;
  readonly valuesWithoutSum: number;
  private rankView: RankedBuckets | undefined;
  private tied: TiedSample | undefined;
  private all: LatencyInterval[] | undefined;
  private tiedCumulative: number[] | undefined;
  /** The evaluation of `buffers` this arm was made for (evaluation-buffers.ts). */
  private readonly generation: number;

  constructor(
    private readonly fine: LatencyHistogram,
    private readonly coarse: readonly CoarseInterval[],
    sumNanos: number,
    valuesWithoutSum: number,
    /** Where the histogram's rank view is written, when the arm lives within one evaluation (else its own arrays). */
    private readonly buffers?: EvaluationBuffers,
  ) {
    this.generation = buffers?.generation ?? 0;
    let coarseCount = 0;
    for (const c of coarse) coarseCount += c.count;
    this.coarseCount = coarseCount;
    this.n = fine.count + coarseCount;
    this.sumNanos = sumNanos;
    this.valuesWithoutSum = valuesWithoutSum;
  }

  /** Rank views of every value's interval (ranked-buckets.ts). */
  get ranks(): RankedBuckets {
    if (!this.rankView) {
      if (this.coarse.length === 0) {
        // The histogram alone: buckets do not overlap, so both views are its buckets, and they share one
        // cumulative array (nothing writes to a view).
        const { lowers, uppers, cumulative } = this.histogramArrays();
        this.rankView = {
          n: cumulative.length > 0 ? cumulative[cumulative.length - 1] : 0,
          lower: { edges: lowers, cumulative },
          upper: { edges: uppers, cumulative },
        };
      } else {
        this.rankView = rankedIntervals(this.intervals);
      }
    }
    return this.rankView;
  }

  private histogramArrays(): { lowers: Doubles; uppers: Doubles; cumulative: Doubles } {
    const buffers = this.buffers;
    if (!buffers) return this.fine.bucketArrays();
    if (buffers.generation !== this.generation) {
      throw new Error('an arm of an evaluation that has ended: its rank buffers are in use by another');
    }
    const arrays = buffers.takeRanks(this.fine.nonEmptyBucketCount());
    this.fine.writeBucketArrays(arrays.lowers, arrays.uppers, arrays.cumulative);
    return arrays;
  }

  /** Bucket representatives with counts: point estimates and Mann-Whitney U / Hodges-Lehmann read these. */
  get representatives(): TiedSample {
    if (!this.tied) {
      if (this.coarse.length === 0) {
        const values: number[] = [];
        const counts: number[] = [];
        this.fine.forEachBucket((lo, hi, count, isZero) => {
          values.push(fineRepresentative(lo, hi, isZero));
          counts.push(count);
        });
        this.tied = { values, counts };
      } else {
        const pairs: { value: number; count: number }[] = [];
        this.fine.forEachBucket((lo, hi, count, isZero) =>
          pairs.push({ value: fineRepresentative(lo, hi, isZero), count }),
        );
        for (const c of this.coarse) {
          pairs.push({ value: coarseRepresentative(c.lowerNanos, c.upperNanos), count: c.count });
        }
        this.tied = tiedSampleOfPairs(pairs);
      }
    }
    return this.tied;
  }

  /** Nearest-rank q-quantile of the representatives (rank max(1, ceil(q n))) by binary search; NaN when empty. */
  quantileEstimate(q: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    if (this.coarse.length === 0) {
      // The histogram alone: its representatives are its buckets' in the same order, with the rank view's
      // cumulative counts, so the rank view (which the quantile tests build anyway) answers without the
      // representatives' arrays; only the zero bucket has lower edge 0 (every other bucket's is at least
      // 2^-64 ns: latency-histogram.ts), and its representative is 0.
      const { edges, cumulative } = this.ranks.lower;
      const uppers = this.ranks.upper.edges;
      const at = firstReaching(cumulative, rank);
      return fineRepresentative(edges[at], uppers[at], edges[at] === 0);
    }
    const tied = this.representatives;
    if (!this.tiedCumulative) {
      let seen = 0;
      this.tiedCumulative = tied.counts.map((c) => (seen += c));
    }
    return tied.values[firstReaching(this.tiedCumulative, rank)];
  }

  /** Every value's interval: the accumulator's buckets, then the coarse ones. */
  get intervals(): LatencyInterval[] {
    if (!this.all) {
      const all: LatencyInterval[] = [];
      this.fine.forEachBucket((lowerNanos, upperNanos, count) => all.push({ lowerNanos, upperNanos, count }));
      for (const c of this.coarse) all.push(c);
      this.all = all;
    }
    return this.all;
  }
}

export function armLatency(arm: ArmState, buffers?: EvaluationBuffers): ArmLatency {
  return new ArmLatency(
    arm.latency,
    arm.coarseLatency.size > 0 ? arm.coarseLatency.intervals() : [],
    arm.latencySumNanos,
    arm.latencyValuesWithoutSum,
    buffers,
  );
}

/** The view of a histogram alone (no coarse values, no sums): for tests and simulations. */
export function histogramLatency(h: LatencyHistogram): ArmLatency {
  return new ArmLatency(h, [], 0, h.count);
}
