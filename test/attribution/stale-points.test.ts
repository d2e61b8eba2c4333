// Staleness markers (metrics.proto DataPointFlags.NO_RECORDED_VALUE): the Collector's prometheus receiver sends
// one for each series of a failed scrape or a vanished target, and the series resumes at the next good scrape.
// The markers below are shaped as the receiver makes them (opentelemetry-collector-contrib
// receiver/prometheusreceiver/internal/metricfamily.go at 67a3f1d329fe2050b798a72401915af408b8fc95:
// toDistributionPoint, toNumberDataPoint): a histogram's with the flag, zero bucket counts, no count or sum, and
// its own time as start time when the series has no created time; a sum's with the flag and no value at all.
// A marker must neither count nor move its stream, over protobuf and JSON alike.
import { describe, expect, it } from 'vitest';
import { METRICS_REQUEST, encodeMessage } from '../../bench/payloads.js';
import { decodeMetricsRequest, decodeMetricsRequestJson } from '../../src/otlp/decode/index.js';
import type { MetricBatch } from '../../src/otlp/model.js';
import { T0, harness, metricValue } from './fixtures.js';

const NO_RECORDED_VALUE = 1;
const CUMULATIVE = 2;
const nanos = (ms: number) => String(BigInt(ms) * 1_000_000n);
const stable = [
  { key: 'service.name', value: { stringValue: 'checkout' } },
  { key: 'service.version', value: { stringValue: '1.0.0' } },
];

/** One export of `metric` with `data` (histogram or sum), as the prometheus receiver shapes it. */
function request(metric: object): object {
  return { resourceMetrics: [{ resource: { attributes: stable }, scopeMetrics: [{ metrics: [metric] }] }] };
}

function histogramPoint(timeMs: number, counts: number[] | undefined, stale = false) {
  const bucketCounts = counts ?? [0, 0, 0];
  return {
    // The receiver gives a marker its own time as start time (prometheusreceiver metricfamily.go).
    startTimeUnixNano: nanos(stale ? timeMs : T0 - 600_000),
    timeUnixNano: nanos(timeMs),
    ...(stale
      ? { flags: NO_RECORDED_VALUE }
      : {
          count: String(bucketCounts.reduce((a, b) => a + b, 0)),
          sum: 0.1 * bucketCounts.reduce((a, b) => a + b, 0),
        }),
    explicitBounds: [0.05, 0.5],
    bucketCounts: bucketCounts.map(String),
  };
}

const histogram = (points: object[]) =>
  request({
    name: 'http.server.request.duration',
    unit: 's',
    histogram: { aggregationTemporality: CUMULATIVE, dataPoints: points },
  });

/** A cumulative sum's point, or with `value` undefined its staleness marker (the flag and no value). */
function sumPoint(timeMs: number, value: number | undefined) {
  return {
    startTimeUnixNano: nanos(T0 - 600_000),
    timeUnixNano: nanos(timeMs),
    ...(value === undefined ? { flags: NO_RECORDED_VALUE } : { asDouble: value }),
  };
}

const sum = (points: object[]) =>
  request({
    name: 'app.requests',
    unit: '1',
    sum: { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints: points },
  });

const byVersion = {
  id: 'latency-by-version',
  match: { service: 'checkout', metric: 'http.server.request.duration' },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
};

/** The same export as the protobuf and the JSON decoder read it. */
const decoders: Array<[string, (message: object) => MetricBatch]> = [
  ['protobuf', (message) => decodeMetricsRequest(encodeMessage(METRICS_REQUEST, message))],
  ['json', (message) => decodeMetricsRequestJson(JSON.stringify(message))],
];

describe.each(decoders)('a staleness marker over %s', (_, decode) => {
  it('neither counts nor restarts a cumulative histogram', async () => {
    const { pipeline, sink, registry } = harness([byVersion]);
    for (const points of [
      [histogramPoint(T0, [10, 5, 1])],
      [histogramPoint(T0 + 15_000, [12, 6, 1])],
      [histogramPoint(T0 + 30_000, undefined, true)], // one failed scrape
      [histogramPoint(T0 + 45_000, [15, 6, 2])],
    ])
      pipeline.acceptMetrics(decode(histogram(points)));
    // 3 then 4 requests; counting the series again from its start after the marker added all 23.
    expect(sink.all.map((o) => (o.kind === 'histogram' ? o.count : -1))).toEqual([3, 4]);
    expect(
      await metricValue(registry, 'canary_judge_attribution_points_ignored_total', {
        reason: 'no_recorded_value',
      }),
    ).toBe(1);
  });

  it('neither counts nor breaks a cumulative sum, whose marker holds no value', () => {
    const { pipeline, sink } = harness([{ ...byVersion, match: { metric: 'app.requests' } }]);
    for (const point of [
      sumPoint(T0, 100),
      sumPoint(T0 + 15_000, 130),
      sumPoint(T0 + 30_000, undefined),
      sumPoint(T0 + 45_000, 150),
    ])
      pipeline.acceptMetrics(decode(sum([point])));
    // Read as 0, the marker was taken for a restart, and the next point's 150 counted whole.
    expect(sink.all.map((o) => (o.kind === 'count' ? o.requests : -1))).toEqual([30, 20]);
  });
});
