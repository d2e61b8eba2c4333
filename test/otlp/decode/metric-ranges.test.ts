// Numeric range rules at the decode boundary (issue 9, cases 2 and 3): the points that froze the judge (an
// explicit bound of +Inf, an exponential offset of 2^31 - 1 at scale 20) or killed V8 (counts past 2^53)
// are rejected with a reason in the partial success, on protobuf and JSON alike, and never reach the
// accumulator.
import { describe, expect, it } from 'vitest';
import { METRICS_REQUEST, encodeMessage } from '../../../bench/payloads.js';
import { decodeMetricsRequest, decodeMetricsRequestJson } from '../../../src/otlp/decode/index.js';
import type { MetricBatch } from '../../../src/otlp/model.js';

const histogram = (name: string, point: Record<string, unknown>) => ({
  name,
  unit: 's',
  histogram: { aggregationTemporality: 1, dataPoints: [point] },
});
const exponential = (name: string, point: Record<string, unknown>) => ({
  name,
  unit: 'ns',
  exponentialHistogram: { aggregationTemporality: 1, dataPoints: [point] },
});

/** One metric per case: the point and the reason it must be rejected with ('' = accepted). */
const CASES: Array<[metric: Record<string, unknown>, reason: string]> = [
  [histogram('fine', { count: '3', bucketCounts: ['1', '2'], explicitBounds: [0.1] }), ''],
  [
    histogram('infinite-bound', {
      count: '3',
      bucketCounts: ['1', '1', '1'],
      explicitBounds: [0.1, Infinity],
    }),
    'explicit_bounds[1] is Infinity; bounds must be finite (the overflow bucket is implicit)',
  ],
  [
    histogram('nan-bound', { count: '2', bucketCounts: ['1', '1'], explicitBounds: [NaN] }),
    'explicit_bounds are not strictly increasing',
  ],
  [
    histogram('count-past-2^53', {
      count: '18446744073709551615',
      bucketCounts: ['18446744073709551615', '0'],
      explicitBounds: [1],
    }),
    'count 18446744073709552000 is not a whole number from 0 to 2^53 - 1',
  ],
  [
    histogram('buckets-past-2^53', {
      count: '9007199254740991',
      bucketCounts: ['9007199254740991', '1'],
      explicitBounds: [1],
    }),
    'bucket_counts add up to more than 2^53 - 1',
  ],
  [
    exponential('offset-2^31-1', {
      scale: 20,
      count: '1',
      positive: { offset: 2147483647, bucketCounts: ['1'] },
    }),
    'positive bucket indexes 2147483647..2147483647 at scale 20 reach beyond the finite range (|index| <= 1071644672)',
  ],
  [
    exponential('nan-threshold', { scale: 3, count: '1', zeroCount: '1', zeroThreshold: NaN }),
    'zero_threshold NaN is not a finite number >= 0',
  ],
  [
    exponential('fine-exponential', {
      scale: 3,
      count: '2',
      positive: { offset: 100, bucketCounts: ['1', '1'] },
    }),
    '',
  ],
];

function request(metrics: Array<Record<string, unknown>>) {
  return { resourceMetrics: [{ scopeMetrics: [{ metrics }] }] };
}

/** OTLP/JSON spells non-finite doubles as strings (proto3 JSON mapping). */
function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
  );
}

describe('numeric ranges of histogram points', () => {
  for (const [metric, reason] of CASES) {
    const name = metric.name as string;
    it(`${reason === '' ? 'accepts' : 'rejects'} ${name}${reason === '' ? '' : ` (${reason})`}`, () => {
      const batches: MetricBatch[] = [
        decodeMetricsRequest(encodeMessage(METRICS_REQUEST, request([metric]))),
        decodeMetricsRequestJson(jsonText(request([metric]))),
      ];
      for (const batch of batches) {
        if (reason === '') {
          expect(batch.rejected).toBe(0);
          expect(batch.points).toHaveLength(1);
        } else {
          expect(batch.points).toHaveLength(0);
          expect(batch.rejected).toBe(1);
          expect(batch.rejectMessage).toContain(reason);
        }
      }
    });
  }
});
