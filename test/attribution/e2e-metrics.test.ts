// End to end over real sockets: metric points from the real OTel JS metrics SDK, exported with the real
// OTLP exporters, split by the `service.version` of the baseline and canary processes, cumulative points
// turned into deltas (including a process restart), gauges ignored with a count.
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CountObservation, HistogramObservation } from '../../src/accumulate/observation.js';
import { metricValue } from '../support/sidecar.js';
import { exportOnce, metricExporter, succeeded, type ExporterKind } from '../support/telemetry.js';
import { startAttributionSidecar, type AttributionSidecar } from './e2e-support.js';

class ManualReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const byVersion = (id: string, metric: string) => ({
  id,
  match: { service: 'checkout', metric },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
});

/** One checkout process (baseline or canary) with its instruments and a reader a test collects by hand. */
class CheckoutProcess {
  private readonly reader: ManualReader;
  private readonly provider: MeterProvider;
  readonly duration;
  readonly durationExp;
  readonly requests;
  readonly queueDepth;
  readonly inFlight;

  constructor(version: string, temporality = AggregationTemporality.CUMULATIVE) {
    this.reader = new ManualReader({ aggregationTemporalitySelector: () => temporality });
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': version }),
      readers: [this.reader],
      views: [
        { instrumentName: 'checkout.duration', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
      ],
    });
    const meter = this.provider.getMeter('checkout');
    this.duration = meter.createHistogram('http.server.request.duration', {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.01, 0.1, 1] },
    });
    this.durationExp = meter.createHistogram('checkout.duration', { unit: 'ms' });
    this.requests = meter.createCounter('http.server.requests');
    this.queueDepth = meter.createGauge('checkout.queue.depth');
    this.inFlight = meter.createUpDownCounter('checkout.in_flight');
  }

  async collect(): Promise<ResourceMetrics> {
    return (await this.reader.collect()).resourceMetrics;
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

let harness: AttributionSidecar;
beforeAll(async () => {
  harness = await startAttributionSidecar([
    byVersion('latency', 'http.server.request.duration'),
    byVersion('latency-exp', 'checkout.duration'),
    byVersion('requests', 'http.server.requests'),
    byVersion('queue', 'checkout.queue.depth'),
    byVersion('in-flight', 'checkout.in_flight'),
  ]);
});
afterAll(async () => harness.stop());
beforeEach(() => {
  harness.sink.batches.length = 0;
});

async function send(kind: ExporterKind, metrics: ResourceMetrics): Promise<void> {
  const exporter = metricExporter(kind, harness.endpoints);
  const result = await exportOnce(exporter, metrics);
  await exporter.shutdown();
  expect(result.error).toBeUndefined();
  expect(succeeded(result)).toBe(true);
}

const of = <T>(analysisId: string) =>
  harness.sink.all.filter((o) => o.runId === harness.runIdOf(analysisId)) as T[];

describe.each(['grpc', 'http-protobuf', 'http-json'] as const)('over %s', (kind) => {
  it('splits explicit and exponential histograms and counters by service.version, as deltas in nanoseconds', async () => {
    const baseline = new CheckoutProcess('1.0.0');
    const canary = new CheckoutProcess('2.0.0');
    for (const seconds of [0.005, 0.05]) baseline.duration.record(seconds);
    for (const seconds of [0.05, 0.5, 5]) canary.duration.record(seconds);
    canary.durationExp.record(4);
    baseline.requests.add(2);
    canary.requests.add(3);
    // Both processes started after the sidecar: their first cumulative points count in full.
    await send(kind, await baseline.collect());
    await send(kind, await canary.collect());
    canary.duration.record(0.05);
    canary.durationExp.record(4);
    canary.durationExp.record(16);
    canary.requests.add(4);
    await send(kind, await canary.collect());

    const latency = of<HistogramObservation>('latency');
    expect(latency.map((o) => [o.arm, o.count, o.explicit?.bucketCounts])).toEqual([
      ['baseline', 2, [1, 1, 0, 0]],
      ['canary', 3, [0, 1, 1, 1]],
      ['canary', 1, [0, 1, 0, 0]],
    ]);
    expect(latency[0].explicit?.bounds).toEqual([10_000_000, 100_000_000, 1_000_000_000]);
    const exponential = of<HistogramObservation>('latency-exp');
    expect(exponential.map((o) => [o.arm, o.count])).toEqual([
      ['canary', 1],
      ['canary', 2],
    ]);
    // 4 ms lies in the bucket whose upper bound is 4 ms = 4 000 000 ns (buckets are upper-inclusive).
    const first = exponential[0].explicit!;
    expect(first.bounds[first.bucketCounts.indexOf(1)]).toBeCloseTo(4_000_000, -1);
    const requests = of<CountObservation>('requests');
    expect(requests.map((o) => [o.arm, o.requests])).toEqual([
      ['baseline', 2],
      ['canary', 3],
      ['canary', 4],
    ]);
    await Promise.all([baseline.shutdown(), canary.shutdown()]);
  });
});

describe('resets, delta temporality and ignored types', () => {
  it('detects a restarted canary process and counts its new cumulative values from the restart', async () => {
    const before = await metricValue(harness.apiUrl, 'canary_judge_attribution_stream_resets_total');
    const canary = new CheckoutProcess('2.0.0');
    canary.requests.add(10);
    await send('grpc', await canary.collect());
    canary.requests.add(5);
    await send('grpc', await canary.collect());
    await canary.shutdown();
    await new Promise((resolve) => setImmediate(resolve));
    const restarted = new CheckoutProcess('2.0.0'); // same stream, new start time
    restarted.requests.add(2);
    await send('http-protobuf', await restarted.collect());
    expect(of<CountObservation>('requests').map((o) => o.requests)).toEqual([10, 5, 2]);
    const after = await metricValue(harness.apiUrl, 'canary_judge_attribution_stream_resets_total');
    expect(after - before).toBeGreaterThanOrEqual(1);
    await restarted.shutdown();
  });

  it('passes delta temporality points through', async () => {
    const canary = new CheckoutProcess('2.0.0', AggregationTemporality.DELTA);
    canary.duration.record(0.05);
    await send('http-json', await canary.collect());
    canary.duration.record(0.5);
    canary.duration.record(0.5);
    await send('http-json', await canary.collect());
    expect(of<HistogramObservation>('latency').map((o) => o.explicit?.bucketCounts)).toEqual([
      [0, 1, 0, 0],
      [0, 0, 2, 0],
    ]);
    await canary.shutdown();
  });

  it('ignores gauges and up-down counters with a count', async () => {
    const canary = new CheckoutProcess('2.0.0');
    canary.queueDepth.record(7);
    canary.inFlight.add(3);
    await send('grpc', await canary.collect());
    expect(of('queue')).toEqual([]);
    expect(of('in-flight')).toEqual([]);
    const ignored = (reason: string) =>
      metricValue(harness.apiUrl, 'canary_judge_attribution_points_ignored_total', { reason });
    expect(await ignored('gauge')).toBeGreaterThanOrEqual(1);
    expect(await ignored('non_monotonic_sum')).toBeGreaterThanOrEqual(1);
    await canary.shutdown();
  });
});
