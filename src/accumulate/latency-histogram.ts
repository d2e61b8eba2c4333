// One arm's latencies in nanoseconds, in the OTLP exponential-histogram layout (ARCHITECTURE.md, Latency
// representation). Memory is bounded by `maxBuckets` whatever the traffic: when a new value or a merge would
// need a wider index range, the histogram downscales (halves its resolution) until the range fits, exactly as
// the OTel SDK's base-2 exponential aggregator does (spec: "Exponential bucket histogram aggregation").
//
// Scale 6 gives base 2^(1/64) and a worst-case quantile error of (base-1)/(base+1) = 0.54% < 1%; with 4096
// buckets the histogram spans a factor 2^64, so 1 ns .. 1 h never forces a downscale.
//
// Merge is exact, associative and commutative: the result's scale is the largest scale <= both inputs' at
// which the union of their index ranges fits, which depends only on the union, not on the merge order.
import { MAX_LATENCY_NANOS } from '../otlp/model.js';
import { bucketRepresentative, downscaleIndex, indexForValue, lowerBoundary } from './exponential-mapping.js';

/**
 * Last guards on what reaches the buckets (the boundary refuses bad input first, and counts it): counts must
 * be whole, positive and keep the total within 2^53 - 1, or they are not recorded; values and bucket
 * indexes are clamped into [2^-64 ns, MAX_LATENCY_NANOS], so every bucket edge is a finite double and the
 * index range, hence memory and every loop over buckets, stays bounded.
 */
const MIN_OCTAVE = -64;
const MAX_OCTAVE = Math.log2(MAX_LATENCY_NANOS);
/** 2^MIN_OCTAVE ns, the smallest value recorded (computed once: `record` runs for every judged span). */
const MIN_VALUE_NANOS = 2 ** MIN_OCTAVE;

function clampIndex(index: number, scale: number): number {
  const lowest = Math.floor(MIN_OCTAVE * 2 ** scale);
  const highest = Math.ceil(MAX_OCTAVE * 2 ** scale) - 1;
  return Math.min(highest, Math.max(lowest, index));
}

export const DEFAULT_MAX_SCALE = 6;
export const DEFAULT_MAX_BUCKETS = 4096;

/** JSON-safe serialized form; `counts[i]` belongs to bucket `offset + i`. */
export interface LatencyHistogramSnapshot {
  scale: number;
  maxBuckets: number;
  zeroThresholdNanos: number;
  zeroCount: number;
  offset: number;
  counts: number[];
}

export interface LatencyHistogramOptions {
  maxScale?: number;
  maxBuckets?: number;
  zeroThresholdNanos?: number;
}

/** A bucket with its value range (lowerNanos, upperNanos] and count; the zero bucket has index -Infinity. */
export interface LatencyBucket {
  index: number;
  lowerNanos: number;
  upperNanos: number;
  count: number;
}

export class LatencyHistogram {
  private scaleValue: number;
  private readonly maxBucketCount: number;
  private zeroThreshold: number;
  private zeros = 0;
  private offset = 0;
  /**
   * counts[i] belongs to bucket offset + i. A copy (clone) holds them in a Float64Array, whose memory lies
   * outside the JS heap: the judge copies every arm it reads on every tick with new evidence and keeps the
   * copies until the next, and as arrays they were a third of what each young-generation collection during a
   * tick had to copy (issue 13). The first write turns them back into an array (writable()).
   */
  private counts: number[] | Float64Array = [];
  private total = 0;

  constructor(options: LatencyHistogramOptions = {}) {
    this.scaleValue = options.maxScale ?? DEFAULT_MAX_SCALE;
    this.maxBucketCount = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    this.zeroThreshold = options.zeroThresholdNanos ?? 0;
    if (!Number.isInteger(this.maxBucketCount) || this.maxBucketCount < 2) {
      throw new RangeError(`maxBuckets must be an integer >= 2, got ${this.maxBucketCount}`);
    }
  }

  get scale(): number {
    return this.scaleValue;
  }

  /** Number of recorded values, zero bucket included. */
  get count(): number {
    return this.total;
  }

  get zeroCount(): number {
    return this.zeros;
  }

  /** Records `count` values equal to `valueNanos`. Values at or below the zero threshold (and NaN) count as zero. */
  record(valueNanos: number, count = 1): void {
    if (!this.admits(count)) return;
    this.total += count;
    if (!(valueNanos > this.zeroThreshold)) {
      this.zeros += count;
      return;
    }
    const value = Math.min(Math.max(valueNanos, MIN_VALUE_NANOS), MAX_LATENCY_NANOS);
    this.addToBucket(indexForValue(value, this.scaleValue), count);
  }

  /**
   * Adds `count` to bucket `index` given at `scale` (downscaling this histogram first if `scale` is coarser);
   * used to ingest OTLP exponential buckets without going through values.
   */
  recordBucket(index: number, scale: number, count: number): void {
    if (!this.admits(count) || !Number.isInteger(index) || !Number.isInteger(scale)) return;
    if (scale < this.scaleValue) this.downscale(this.scaleValue - scale);
    this.total += count;
    this.addToBucket(clampIndex(downscaleIndex(index, scale - this.scaleValue), this.scaleValue), count);
  }

  /** Adds `count` to the zero bucket (values in [0, threshold]), raising the threshold if `thresholdNanos` is larger. */
  recordZeros(count: number, thresholdNanos = 0): void {
    if (thresholdNanos <= MAX_LATENCY_NANOS) this.raiseZeroThreshold(thresholdNanos);
    if (!this.admits(count)) return;
    this.zeros += count;
    this.total += count;
  }

  /** Adds every value of `other` to this histogram (exact; see the file comment). */
  mergeFrom(other: LatencyHistogram): void {
    this.raiseZeroThreshold(other.zeroThreshold);
    const targetScale = Math.min(this.scaleValue, other.scaleValue);
    if (targetScale < this.scaleValue) this.downscale(this.scaleValue - targetScale);
    const shift = other.scaleValue - this.scaleValue;
    const otherLast = other.offset + other.counts.length - 1;
    if (other.counts.length > 0) {
      // Widen once for the union's range so the downscale decision depends on the union only.
      this.ensureRange(downscaleIndex(other.offset, shift), downscaleIndex(otherLast, shift));
    }
    const shiftNow = other.scaleValue - this.scaleValue;
    for (let i = 0; i < other.counts.length; i++) {
      const c = other.counts[i];
      if (c > 0) this.addToBucket(downscaleIndex(other.offset + i, shiftNow), c);
    }
    this.zeros += other.zeros;
    this.total += other.total;
    this.applyZeroThreshold();
  }

  /** A new histogram holding the values of both (neither input changes). */
  static merge(a: LatencyHistogram, b: LatencyHistogram): LatencyHistogram {
    const out = a.clone();
    out.mergeFrom(b);
    return out;
  }

  /**
   * What fromSnapshot(toSnapshot()) gives (the same trimmed buckets, offset and total), with one copy of the
   * counts instead of two: the judge copies every arm it reads on every tick with new evidence (issue 13).
   */
  clone(): LatencyHistogram {
    const [first, last] = this.nonEmptyRange();
    const h = new LatencyHistogram({
      maxScale: this.scaleValue,
      maxBuckets: this.maxBucketCount,
      zeroThresholdNanos: this.zeroThreshold,
    });
    h.zeros = this.zeros;
    h.offset = first <= last ? this.offset + first : 0;
    const counts = new Float64Array(first <= last ? last - first + 1 : 0);
    for (let k = 0; k < counts.length; k++) counts[k] = this.counts[first + k];
    h.counts = counts;
    h.total = this.total;
    return h;
  }

  /**
   * Estimate of the q-quantile, defined as the value of rank max(1, ceil(q*n)) (1-based) in sorted order: the
   * representative of the bucket holding that rank, so the relative error is at most (base-1)/(base+1).
   * Returns NaN for an empty histogram and 0 when the rank falls in the zero bucket.
   */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    return this.valueAtRank(rank);
  }

  /** Representative value of the sample of 1-based `rank` (clamped to [1, n]). */
  valueAtRank(rank: number): number {
    const bucket = this.bucketAtRank(rank);
    if (bucket === undefined) return NaN;
    return bucket.index === -Infinity ? 0 : bucketRepresentative(bucket.index, this.scaleValue);
  }

  /** The bucket that holds the sample of 1-based `rank` (clamped to [1, n]); undefined when empty. */
  bucketAtRank(rank: number): LatencyBucket | undefined {
    if (this.total === 0) return undefined;
    const r = Math.min(Math.max(rank, 1), this.total);
    if (r <= this.zeros) return this.zeroBucket();
    let seen = this.zeros;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= r) return this.bucket(this.offset + i, this.counts[i]);
    }
    return undefined;
  }

  /**
   * Calls `visit(lowerNanos, upperNanos, count, isZero)` for each non-empty bucket in ascending order, the zero
   * bucket first: buckets() without allocating a bucket object each (the statistics read every bucket every tick).
   */
  forEachBucket(
    visit: (lowerNanos: number, upperNanos: number, count: number, isZero: boolean) => void,
  ): void {
    if (this.zeros > 0) visit(0, this.zeroThreshold, this.zeros, true);
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i];
      if (c > 0) {
        const index = this.offset + i;
        visit(lowerBoundary(index, this.scaleValue), lowerBoundary(index + 1, this.scaleValue), c, false);
      }
    }
  }

  /**
   * The non-empty buckets as forEachBucket visits them, in three arrays of their length: lower edges, upper
   * edges and cumulative counts. The statistics build this view of every arm on every evaluation; passing
   * each bucket's edges to a callback boxed them (two heap numbers per bucket); with the arrays grown by push
   * and the representatives' arrays the quantile estimates built, this was about a third of a judge tick's
   * garbage at 1 000 runs (heap sampling of one tick; issue 13).
   */
  bucketArrays(): { lowers: number[]; uppers: number[]; cumulative: number[] } {
    const buckets = this.nonEmptyBucketCount();
    const lowers = new Array<number>(buckets);
    const uppers = new Array<number>(buckets);
    const cumulative = new Array<number>(buckets);
    this.writeBucketArrays(lowers, uppers, cumulative);
    return { lowers, uppers, cumulative };
  }

  /** How many buckets bucketArrays() lists: the non-empty ones, the zero bucket included. */
  nonEmptyBucketCount(): number {
    let buckets = this.zeros > 0 ? 1 : 0;
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] > 0) buckets++;
    return buckets;
  }

  /**
   * bucketArrays() written into arrays the caller holds, each at least nonEmptyBucketCount() long: the judge
   * writes them into buffers it reuses between evaluations (stats/evaluation-buffers.ts).
   */
  writeBucketArrays(
    lowers: { [index: number]: number },
    uppers: { [index: number]: number },
    cumulative: { [index: number]: number },
  ): void {
    let k = 0;
    let n = 0;
    if (this.zeros > 0) {
      n += this.zeros;
      lowers[k] = 0;
      uppers[k] = this.zeroThreshold;
      cumulative[k] = n;
      k++;
    }
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i];
      if (c > 0) {
        const index = this.offset + i;
        n += c;
        lowers[k] = lowerBoundary(index, this.scaleValue);
        uppers[k] = lowerBoundary(index + 1, this.scaleValue);
        cumulative[k] = n;
        k++;
      }
    }
  }

  /** Non-empty buckets in ascending value order, the zero bucket first when it holds values. */
  buckets(): LatencyBucket[] {
    const out: LatencyBucket[] = [];
    if (this.zeros > 0) out.push(this.zeroBucket());
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i] > 0) out.push(this.bucket(this.offset + i, this.counts[i]));
    }
    return out;
  }

  toSnapshot(): LatencyHistogramSnapshot {
    const [first, last] = this.nonEmptyRange();
    return {
      scale: this.scaleValue,
      maxBuckets: this.maxBucketCount,
      zeroThresholdNanos: this.zeroThreshold,
      zeroCount: this.zeros,
      offset: first <= last ? this.offset + first : 0,
      counts: first <= last ? Array.from(this.counts.slice(first, last + 1)) : [],
    };
  }

  static fromSnapshot(s: LatencyHistogramSnapshot): LatencyHistogram {
    const h = new LatencyHistogram({
      maxScale: s.scale,
      maxBuckets: s.maxBuckets,
      zeroThresholdNanos: s.zeroThresholdNanos,
    });
    if (s.counts.length > s.maxBuckets) throw new RangeError('snapshot holds more buckets than maxBuckets');
    h.zeros = s.zeroCount;
    h.offset = s.offset;
    h.counts = s.counts.slice();
    h.total = s.zeroCount + s.counts.reduce((a, b) => a + b, 0);
    return h;
  }

  /** A count the histogram can add exactly: whole, positive, and keeping the total within 2^53 - 1. */
  private admits(count: number): boolean {
    return Number.isSafeInteger(count) && count > 0 && this.total + count <= Number.MAX_SAFE_INTEGER;
  }

  private zeroBucket(): LatencyBucket {
    return { index: -Infinity, lowerNanos: 0, upperNanos: this.zeroThreshold, count: this.zeros };
  }

  private bucket(index: number, count: number): LatencyBucket {
    return {
      index,
      lowerNanos: lowerBoundary(index, this.scaleValue),
      upperNanos: lowerBoundary(index + 1, this.scaleValue),
      count,
    };
  }

  /** The slots from the first to the last non-zero count (first > last when every count is zero). */
  private nonEmptyRange(): [first: number, last: number] {
    let first = 0;
    let last = this.counts.length - 1;
    while (first <= last && this.counts[first] === 0) first++;
    while (last >= first && this.counts[last] === 0) last--;
    return [first, last];
  }

  /** The counts as an array that can grow (a copy's Float64Array is turned into one on its first write). */
  private writable(): number[] {
    if (!Array.isArray(this.counts)) this.counts = Array.from(this.counts);
    return this.counts;
  }

  private addToBucket(index: number, count: number): void {
    const slot = index - this.offset;
    if (slot >= 0 && slot < this.counts.length) {
      this.writable()[slot] += count;
      return;
    }
    const shift = this.ensureRange(index, index);
    this.writable()[downscaleIndex(index, shift) - this.offset] += count;
  }

  /**
   * Makes [lo, hi] (indexes at the current scale) addressable, downscaling if the union would not fit.
   * Returns the downscale applied, so callers can shift indexes they computed before the call.
   */
  private ensureRange(lo: number, hi: number): number {
    if (this.counts.length === 0) {
      let shift = 0;
      while (downscaleIndex(hi, shift) - downscaleIndex(lo, shift) + 1 > this.maxBucketCount) shift++;
      if (shift > 0) this.scaleValue -= shift;
      this.offset = downscaleIndex(lo, shift);
      this.counts = new Array<number>(downscaleIndex(hi, shift) - this.offset + 1).fill(0);
      return shift;
    }
    const curLast = this.offset + this.counts.length - 1;
    const newLo = Math.min(lo, this.offset);
    const newHi = Math.max(hi, curLast);
    let shift = 0;
    while (downscaleIndex(newHi, shift) - downscaleIndex(newLo, shift) + 1 > this.maxBucketCount) shift++;
    if (shift > 0) this.downscale(shift);
    const lo2 = downscaleIndex(newLo, shift);
    const hi2 = downscaleIndex(newHi, shift);
    if (lo2 < this.offset) {
      this.counts = new Array<number>(this.offset - lo2).fill(0).concat(this.writable());
      this.offset = lo2;
    }
    const last = this.offset + this.counts.length - 1;
    // push keeps growth at the top amortised O(1) (values usually arrive in no particular order, but a
    // histogram filled in ascending order would otherwise cost O(buckets^2)).
    const counts = this.writable();
    for (let k = last; k < hi2; k++) counts.push(0);
    return shift;
  }

  /** Reduces the scale by `shift`, merging 2^shift neighbouring buckets (spec: downscaling). */
  private downscale(shift: number): void {
    if (shift <= 0) return;
    this.scaleValue -= shift;
    if (this.counts.length === 0) return;
    const newOffset = downscaleIndex(this.offset, shift);
    const newLast = downscaleIndex(this.offset + this.counts.length - 1, shift);
    const merged = new Array<number>(newLast - newOffset + 1).fill(0);
    for (let i = 0; i < this.counts.length; i++) {
      merged[downscaleIndex(this.offset + i, shift) - newOffset] += this.counts[i];
    }
    this.offset = newOffset;
    this.counts = merged;
  }

  private raiseZeroThreshold(thresholdNanos: number): void {
    if (thresholdNanos > this.zeroThreshold) {
      this.zeroThreshold = thresholdNanos;
      this.applyZeroThreshold();
    }
  }

  /** Moves buckets whose whole range lies at or below the zero threshold into the zero bucket. */
  private applyZeroThreshold(): void {
    if (this.zeroThreshold <= 0) return;
    while (this.counts.length > 0 && lowerBoundary(this.offset + 1, this.scaleValue) <= this.zeroThreshold) {
      this.zeros += this.writable().shift() ?? 0;
      this.offset++;
    }
  }
}
