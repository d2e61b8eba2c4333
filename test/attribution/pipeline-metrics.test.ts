import { sourceKeyOf } from '../../src/attribution/source-key.js';
import { describe, expect, it } from 'vitest';
import { analysisSchema } from '../../src/config/analysis.js';
import { Temporality } from '../../src/otlp/model.js';
import type { HistogramObservation } from '../../src/accumulate/observation.js';
import {
  T0,
  frontendSpan,
  harness,
  metricValue,
  point,
  points,
  resource,
  spans,
  traceId,
} from './fixtures.js';

const byVersion = {
  id: 'latency-by-version',
  match: { service: 'checkout', metric: 'http.server.request.duration' },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
};
const canaryResource = resource('checkout', { 'service.version': '2.0.0' });

describe('metric points', () => {
  it('turns a delta explicit histogram in seconds into nanosecond buckets for the resource variant', () => {
    const { pipeline, sink } = harness([byVersion]);
    pipeline.acceptMetrics(points(point({ resource: canaryResource })));
    expect(sink.all).toEqual([
      {
        kind: 'histogram',
        runId: 'latency-by-version',
        arm: 'canary',
        timeUnixMs: T0,
        sourceKey: sourceKeyOf(canaryResource),
        explicit: { bounds: [50_000_000, 100_000_000, 500_000_000], bucketCounts: [1, 1, 1, 0] },
        count: 3,
        errors: 0,
        sumNanos: 300_000_000,
      },
    ]);
  });

  it('takes the variant from a point attribute before the resource', () => {
    const { pipeline, sink } = harness([byVersion]);
    pipeline.acceptMetrics(
      points(point({ resource: canaryResource, attributes: { 'service.version': '1.0.0' } })),
    );
    expect(sink.arms()).toEqual(['baseline']);
  });

  it('counts every request of a 5xx point as an error', () => {
    const { pipeline, sink } = harness([byVersion]);
    pipeline.acceptMetrics(
      points(point({ resource: canaryResource, attributes: { 'http.response.status_code': 500 } })),
    );
    expect((sink.all[0] as HistogramObservation).errors).toBe(3);
  });

  it('passes an exponential histogram in ns unchanged and converts one in ms to explicit ns buckets', () => {
    const { pipeline, sink } = harness([byVersion]);
    const exponential = {
      scale: 0,
      zeroCount: 1,
      zeroThreshold: 0,
      positive: { offset: 1, bucketCounts: [2, 3] },
      negative: { offset: 0, bucketCounts: [] },
    };
    pipeline.acceptMetrics(
      points(
        point({
          resource: canaryResource,
          type: 'exponential_histogram',
          unit: 'ns',
          explicit: undefined,
          exponential,
          count: 6,
        }),
        point({
          resource: canaryResource,
          type: 'exponential_histogram',
          unit: 'ms',
          explicit: undefined,
          exponential,
          count: 6,
        }),
      ),
    );
    const [ns, ms] = sink.all as HistogramObservation[];
    expect(ns.exponential).toEqual(exponential);
    // scale 0: bucket i covers (2^i, 2^(i+1)] ms; offset 1 -> (2, 4] and (4, 8] ms.
    expect(ms.explicit).toEqual({
      bounds: [0, 2_000_000, 4_000_000, 8_000_000],
      bucketCounts: [1, 0, 2, 3, 0],
    });
  });

  it('turns monotonic cumulative sums into deltas and treats a drop as a reset', async () => {
    const counter = { ...byVersion, match: { metric: 'app.requests' } };
    const { pipeline, sink, registry } = harness([counter]);
    const sum = (value: number, timeUnixMs: number, startTimeUnixMs = T0 - 600_000) =>
      point({
        resource: canaryResource,
        metricName: 'app.requests',
        unit: '1',
        type: 'sum',
        isMonotonic: true,
        temporality: Temporality.CUMULATIVE,
        value,
        startTimeUnixMs,
        timeUnixMs,
        explicit: undefined,
      });
    pipeline.acceptMetrics(points(sum(100, T0)));
    pipeline.acceptMetrics(points(sum(130, T0 + 10_000)));
    pipeline.acceptMetrics(points(sum(130, T0 + 10_000))); // a retried export
    pipeline.acceptMetrics(points(sum(5, T0 + 20_000))); // the process restarted
    pipeline.acceptMetrics(points(sum(12, T0 + 30_000, T0 + 15_000)));
    expect(sink.all.map((o) => (o.kind === 'count' ? o.requests : -1))).toEqual([30, 5, 12]);
    expect(await metricValue(registry, 'canary_judge_attribution_stream_resets_total')).toBe(2);
    expect(
      await metricValue(registry, 'canary_judge_attribution_points_ignored_total', {
        reason: 'stream_started',
      }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'canary_judge_attribution_points_ignored_total', {
        reason: 'out_of_order',
      }),
    ).toBe(1);
  });

  it('counts a cumulative stream for a run from the first point it sees, not the increments from before it was routed', () => {
    // Argo starts a run per revision: a stable pod's counter last seen during the previous run (or by another
    // analysis) gave the new run, at its first point, every request counted since, all before the run began
    // (here 400 of 430), landing in its first stage as baseline traffic.
    const counter = { ...byVersion, match: { metric: 'app.requests' } };
    const { pipeline, sink, clock } = harness([counter]);
    const stable = resource('checkout', { 'service.version': '1.0.0' });
    const sum = (value: number, timeUnixMs: number) =>
      point({
        resource: stable,
        metricName: 'app.requests',
        unit: '1',
        type: 'sum',
        isMonotonic: true,
        temporality: Temporality.CUMULATIVE,
        value,
        startTimeUnixMs: T0 - 600_000,
        timeUnixMs,
        explicit: undefined,
      });
    pipeline.acceptMetrics(points(sum(100, T0)));
    clock.advance(60_000);
    pipeline.acceptMetrics(points(sum(130, T0 + 60_000)));
    expect(sink.all.map((o) => (o.kind === 'count' ? o.requests : -1))).toEqual([30]);
    pipeline.unrouteRun(counter.id);
    clock.advance(240_000);
    pipeline.routeRun('second-run', analysisSchema.parse(counter));
    clock.advance(60_000);
    pipeline.acceptMetrics(points(sum(560, T0 + 360_000)));
    clock.advance(60_000);
    pipeline.acceptMetrics(points(sum(600, T0 + 420_000)));
    expect(sink.all.map((o) => `${o.runId} ${o.kind === 'count' ? o.requests : -1}`)).toEqual([
      `${counter.id} 30`,
      'second-run 40',
    ]);
  });

  it("counts a cumulative stream for a run from when it was routed, whether the stream is new to the judge or restarts after the run's start", () => {
    // Argo's canary pods start (after the judge did) and take traffic from setWeight; the run is routed when
    // the analysis starts. Their counters' first points, new to the judge, held every request since the pod
    // started, before the run too. A stream that restarts after the run began counts wholly in it.
    const counter = { ...byVersion, match: { metric: 'app.requests' } };
    const { pipeline, sink, clock } = harness([]);
    const canary = resource('checkout', { 'service.version': '2.0.0' });
    const stable = resource('checkout', { 'service.version': '1.0.0' });
    const sum = (value: number, startTimeUnixMs: number, timeUnixMs: number, of = canary) =>
      point({
        resource: of,
        metricName: 'app.requests',
        unit: '1',
        type: 'sum',
        isMonotonic: true,
        temporality: Temporality.CUMULATIVE,
        value,
        startTimeUnixMs,
        timeUnixMs,
        explicit: undefined,
      });
    const podStart = T0 + 60_000;
    // The stable pod's counter, last seen by the analysis's previous run.
    pipeline.routeRun('earlier', analysisSchema.parse(counter));
    pipeline.acceptMetrics(points(sum(100, T0 - 600_000, T0, stable)));
    pipeline.unrouteRun('earlier');
    clock.advance(300_000);
    pipeline.routeRun('run', analysisSchema.parse(counter));
    clock.advance(60_000);
    pipeline.acceptMetrics(points(sum(500, podStart, T0 + 360_000))); // 500 since the pod started, before the run
    // The stable pod restarted after the run was routed: all 15 within the run.
    pipeline.acceptMetrics(points(sum(15, T0 + 330_000, T0 + 360_000, stable)));
    clock.advance(60_000);
    pipeline.acceptMetrics(points(sum(530, podStart, T0 + 420_000)));
    // The pod restarts after the run was routed: its first point counts whole (all of it within the run).
    clock.advance(60_000);
    pipeline.acceptMetrics(points(sum(20, T0 + 450_000, T0 + 480_000)));
    // A pod started after the run was routed counts from its first point, as before.
    const later = { ...sum(7, T0 + 400_000, T0 + 480_000), attributes: { pod: 'b' } };
    pipeline.acceptMetrics(points(later));
    expect(sink.all.map((o) => `${o.runId} ${o.arm} ${o.kind === 'count' ? o.requests : -1}`)).toEqual([
      'run baseline 15',
      'run canary 30',
      'run canary 20',
      'run canary 7',
    ]);
  });

  it('turns cumulative histograms into deltas per stream', () => {
    const { pipeline, sink } = harness([byVersion]);
    const cumulative = (count: number, bucketCounts: number[], attributes = {}) =>
      point({
        resource: canaryResource,
        temporality: Temporality.CUMULATIVE,
        count,
        explicit: { bounds: [0.1], bucketCounts },
        attributes,
        timeUnixMs: T0 + count,
      });
    pipeline.acceptMetrics(points(cumulative(2, [1, 1]), cumulative(1, [1, 0], { 'http.route': '/b' })));
    pipeline.acceptMetrics(points(cumulative(5, [3, 2]), cumulative(4, [2, 2], { 'http.route': '/b' })));
    expect(sink.all.map((o) => (o as HistogramObservation).explicit?.bucketCounts)).toEqual([
      [2, 1],
      [1, 2],
    ]);
    expect(pipeline.stats().metricStreams).toBe(2);
  });

  it('counts the first cumulative point of a stream that started after the sidecar', () => {
    const { pipeline, sink } = harness([byVersion]);
    pipeline.acceptMetrics(
      points(
        point({ resource: canaryResource, temporality: Temporality.CUMULATIVE, startTimeUnixMs: T0 + 1 }),
      ),
    );
    expect(sink.all).toHaveLength(1);
  });

  it('ignores gauges, summaries, non-monotonic sums and non-time histogram units with a count', async () => {
    const { pipeline, sink, registry } = harness([byVersion]);
    pipeline.acceptMetrics(
      points(
        point({ resource: canaryResource, type: 'gauge', value: 1 }),
        point({ resource: canaryResource, type: 'summary' }),
        point({ resource: canaryResource, type: 'sum', isMonotonic: false, value: 3 }),
        point({ resource: canaryResource, unit: 'By' }),
      ),
    );
    expect(sink.all).toEqual([]);
    for (const reason of ['gauge', 'summary', 'non_monotonic_sum', 'unit']) {
      expect(await metricValue(registry, 'canary_judge_attribution_points_ignored_total', { reason })).toBe(
        1,
      );
    }
  });

  it('ignores a histogram whose unit names an Object.prototype member as a non-time unit', async () => {
    // The unit is the sender's text: looked up in a plain object, `constructor` or `__proto__` found a function
    // or an object, taken for a factor, and a bucketless point entered the arm with a NaN latency sum.
    const { pipeline, sink, registry } = harness([byVersion]);
    for (const unit of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      pipeline.acceptMetrics(points(point({ resource: canaryResource, unit, explicit: undefined })));
    expect(sink.all).toEqual([]);
    expect(
      await metricValue(registry, 'canary_judge_attribution_points_ignored_total', { reason: 'unit' }),
    ).toBe(4);
  });

  it('joins a point without a variant attribute to its exemplars known trace variants', async () => {
    const byFlag = {
      id: 'flag-latency',
      match: { metric: 'http.server.request.duration' },
      variant: { flag: 'f' },
      baseline: 'off',
      canary: 'on',
    };
    const { pipeline, sink, registry } = harness([byFlag]);
    pipeline.acceptSpans(
      spans(
        frontendSpan(traceId(1), 'f', 'on'),
        frontendSpan(traceId(2), 'f', 'on'),
        frontendSpan(traceId(3), 'f', 'off'),
      ),
    );
    pipeline.acceptMetrics(
      points(
        point({ exemplarTraceIds: [traceId(1), traceId(2), traceId(99)] }),
        point({ exemplarTraceIds: [traceId(1), traceId(3)] }),
        point({ exemplarTraceIds: [traceId(99)] }),
      ),
    );
    expect(sink.arms()).toEqual(['canary']);
    expect(
      await metricValue(registry, 'canary_judge_attribution_points_total', { outcome: 'conflict' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'canary_judge_attribution_points_total', { outcome: 'unattributed' }),
    ).toBe(1);
  });

  it('reads a flag recorded on the point itself', () => {
    const byFlag = {
      id: 'flag-latency',
      match: { metric: 'http.server.request.duration' },
      variant: { flag: 'f' },
      baseline: 'off',
      canary: 'on',
    };
    const { pipeline, sink } = harness([byFlag]);
    pipeline.acceptMetrics(
      points(point({ attributes: { 'feature_flag.key': 'f', 'feature_flag.result.variant': 'off' } })),
    );
    expect(sink.arms()).toEqual(['baseline']);
  });

  it('forgets streams after the stream TTL and evicts the oldest past maxMetricStreams', async () => {
    const { pipeline, registry, clock } = harness([byVersion], {
      maxMetricStreams: 2,
      metricStreamTtlMs: 60_000,
    });
    const stream = (route: string) =>
      point({
        resource: canaryResource,
        temporality: Temporality.CUMULATIVE,
        attributes: { 'http.route': route },
      });
    pipeline.acceptMetrics(points(stream('/a'), stream('/b'), stream('/c')));
    expect(pipeline.stats().metricStreams).toBe(2);
    expect(
      await metricValue(registry, 'canary_judge_attribution_evictions_total', {
        store: 'metric_streams',
        reason: 'capacity',
      }),
    ).toBe(1);
    clock.advance(60_000);
    pipeline.expire();
    expect(pipeline.stats().metricStreams).toBe(0);
    expect(
      await metricValue(registry, 'canary_judge_attribution_evictions_total', {
        store: 'metric_streams',
        reason: 'expired',
      }),
    ).toBe(2);
  });

  it('leaves spans to span analyses and points to metric analyses', () => {
    const { pipeline, sink } = harness([byVersion]);
    pipeline.acceptSpans(spans(frontendSpan(traceId(1), 'f', 'on', { resource: canaryResource })));
    expect(sink.all).toEqual([]);
  });
});
