// The histogram-only arm's quantile estimate is read from its rank view (arm-latency.ts): it must be the
// nearest-rank representative the representatives' own arrays give, bit for bit, the zero bucket included.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { histogramLatency } from '../../src/stats/arm-latency.js';

function nearestRankOfRepresentatives(h: LatencyHistogram, q: number): number {
  const { values, counts } = histogramLatency(h).representatives;
  const rank = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    seen += counts[i];
    if (seen >= rank) return values[i];
  }
  return values[values.length - 1];
}

describe('ArmLatency.quantileEstimate of a histogram alone', () => {
  it('is the nearest-rank bucket representative, zero bucket and clones included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1e3, max: 3.6e12, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.nat(20),
        fc.boolean(),
        (values, zeros, cloned) => {
          const h = new LatencyHistogram({ zeroThresholdNanos: zeros % 2 === 0 ? 0 : 500 });
          for (const v of values) h.record(v);
          h.recordZeros(zeros);
          const source = cloned ? h.clone() : h;
          for (const q of [0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
            expect(
              Object.is(histogramLatency(source).quantileEstimate(q), nearestRankOfRepresentatives(h, q)),
            ).toBe(true);
          }
        },
      ),
    );
  });
});
