// Latency samples drawn straight into histogram buckets: the probability of each scale-6 bucket under a
// lognormal law, sampled with Walker's alias method. Equivalent in distribution to drawing a value and then
// bucketing it, at O(1) per sample, which makes thousands of 30-minute runs affordable.
import { indexForValue, lowerBoundary } from '../../src/accumulate/exponential-mapping.js';
import { DEFAULT_MAX_SCALE, type LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { normalCdf } from '../../src/stats/normal-distribution.js';
import type { Random } from './random.js';

export class LognormalBuckets {
  private readonly firstIndex: number;
  private readonly probability: Float64Array;
  private readonly alias: Int32Array;
  private readonly counts: Float64Array;
  readonly scale = DEFAULT_MAX_SCALE;

  /** ln(latency in ns) ~ Normal(mu, sigma). */
  constructor(
    readonly mu: number,
    readonly sigma: number,
  ) {
    this.firstIndex = indexForValue(Math.exp(mu - 8 * sigma), this.scale);
    const last = indexForValue(Math.exp(mu + 8 * sigma), this.scale);
    const size = last - this.firstIndex + 1;
    const weights = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const lo = Math.log(lowerBoundary(this.firstIndex + i, this.scale));
      const hi = Math.log(lowerBoundary(this.firstIndex + i + 1, this.scale));
      weights[i] = normalCdf((hi - mu) / sigma) - normalCdf((lo - mu) / sigma);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    // Walker/Vose alias table.
    this.probability = new Float64Array(size);
    this.alias = new Int32Array(size);
    const scaled = weights.map((w) => (w / total) * size);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((w, i) => (w < 1 ? small : large).push(i));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.probability[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    for (const i of [...small, ...large]) this.probability[i] = 1;
    this.counts = new Float64Array(size);
  }

  /** Draws n latencies and adds them to the histogram bucket by bucket. */
  drawInto(h: LatencyHistogram, n: number, random: Random): void {
    const size = this.probability.length;
    for (let k = 0; k < n; k++) {
      const u = random.uniform() * size;
      const i = Math.floor(u);
      this.counts[u - i < this.probability[i] ? i : this.alias[i]]++;
    }
    for (let i = 0; i < size; i++) {
      if (this.counts[i] > 0) {
        h.recordBucket(this.firstIndex + i, this.scale, this.counts[i]);
        this.counts[i] = 0;
      }
    }
  }

  /** Exact q-quantile in ns. */
  quantile(q: number, inverseNormal: (p: number) => number): number {
    return Math.exp(this.mu + this.sigma * inverseNormal(q));
  }
}
