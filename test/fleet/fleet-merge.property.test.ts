// N forwarders' state, sent as OTLP metrics (encoded by the OTel SDK's protobuf serializer, decoded by our
// receivers' decoder) and merged by the judging instance, equals one instance fed the same spans and points,
// stage by stage and bucket for bucket: requests, errors, split counts, the exponential histogram, the
// interval-censored latencies, the latency sum. Exports retried, duplicated and delivered out of order change
// nothing (cumulative points with a start time).
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/accumulate/observation.js';
import { RunEvidence, type StageEvidence } from '../../src/accumulate/run-evidence.js';
import type { WatermarkSettings } from '../../src/accumulate/source-watermark.js';
import { forwardedPointOf } from '../../src/fleet/state-intake.js';
import { fleetResourceMetrics } from '../../src/fleet/state-export.js';
import { decodeMetricsRequest } from '../../src/otlp/decode/index.js';

const T0 = 1_800_000_000_000;
const STAGE_STARTS = [T0, T0 + 10_000, T0 + 20_000];
const SETTLE_MS = 2_000;
const NOW = T0 + 40_000;
const JUDGE: WatermarkSettings = { lagMs: 0, sourceIdleMs: 60_000, maxHoldMs: 0, maxSources: 64 };
const FORWARDER: WatermarkSettings = { ...JUDGE, requireBothArms: false };
const BOUNDS_NANOS = [5e6, 10e6, 50e6, 250e6];

interface Item {
  forwarder: number;
  observation: Observation;
}

const arm = fc.constantFrom('baseline' as const, 'canary' as const);
const timeMs = fc.integer({ min: T0, max: NOW - 2_000 });

const span = fc.record({
  forwarder: fc.nat(),
  arm,
  timeMs,
  durationNanos: fc.oneof(fc.integer({ min: 0, max: 2e9 }), fc.integer({ min: 1e6, max: 3e7 })),
  isError: fc.boolean(),
});

const histogram = fc.record({
  forwarder: fc.nat(),
  arm,
  timeMs,
  counts: fc.array(fc.nat({ max: 20 }), { minLength: 5, maxLength: 5 }),
  errors: fc.boolean(),
  withSum: fc.boolean(),
  maxNanos: fc.option(fc.integer({ min: 250e6, max: 5e8 }), { nil: undefined }),
});

function items(forwarders: number) {
  return fc
    .tuple(fc.array(span, { maxLength: 300 }), fc.array(histogram, { maxLength: 12 }))
    .map(([spans, histograms]): Item[] => [
      ...spans.map((s, i) => ({
        forwarder: s.forwarder % forwarders,
        observation: {
          kind: 'span' as const,
          runId: 'run-1',
          arm: s.arm,
          timeUnixMs: s.timeMs,
          sourceKey: `pod-${i % 7}`,
          durationNanos: s.durationNanos,
          isError: s.isError,
        },
      })),
      ...histograms.map((h, i) => {
        const count = h.counts.reduce((a, b) => a + b, 0);
        return {
          forwarder: h.forwarder % forwarders,
          observation: {
            kind: 'histogram' as const,
            runId: 'run-1',
            arm: h.arm,
            timeUnixMs: h.timeMs,
            sourceKey: `metrics-${i % 3}`,
            explicit: { bounds: BOUNDS_NANOS, bucketCounts: h.counts },
            count,
            errors: h.errors ? count : 0,
            // Whole nanoseconds, so the sum of sums is exact in any order.
            sumNanos: h.withSum ? count * 7_000_000 : undefined,
            maxNanos: h.maxNanos,
          },
        };
      }),
    ]);
}

function instance(settings: WatermarkSettings): RunEvidence {
  const evidence = new RunEvidence(
    { startedAtMs: STAGE_STARTS[0], canaryShare: 0.2 },
    settings,
    {},
    SETTLE_MS,
  );
  for (const startedAtMs of STAGE_STARTS.slice(1)) evidence.declareStage({ startedAtMs, canaryShare: 0.5 });
  return evidence;
}

/** One forwarder's export at `nowMs` (none while it holds no evidence), by the SDK's protobuf serializer. */
function exportBytes(evidence: RunEvidence, forwarder: number, nowMs: number): Uint8Array[] {
  evidence.advance(nowMs);
  const resourceMetrics = fleetResourceMetrics(
    [
      {
        runId: 'run-1',
        analysisId: 'checkout',
        startTimeMs: T0 - 5_000,
        watermarkMs: Math.min(evidence.watermark, nowMs),
        stages: evidence.readOwn(),
      },
    ],
    `forwarder-${forwarder}`,
  );
  expect(resourceMetrics.length).toBeLessThanOrEqual(1); // one per analysis
  return resourceMetrics.map((metrics) => ProtobufMetricsSerializer.serializeRequest(metrics)!);
}

function deliver(judge: RunEvidence, bytes: Uint8Array): void {
  const batch = decodeMetricsRequest(bytes);
  expect(batch.rejected).toBe(0);
  for (const point of batch.points) {
    const forwarded = forwardedPointOf(point);
    if (typeof forwarded === 'string') throw new Error(forwarded);
    judge.acceptForwarded(forwarded, NOW);
  }
}

function comparable(stages: StageEvidence[]) {
  return stages.map((stage) => ({
    settled: stage.settled,
    ...Object.fromEntries(
      (['baseline', 'canary'] as const).map((a) => [
        a,
        {
          requests: stage[a].requests,
          errors: stage[a].errors,
          latency: stage[a].latency.toSnapshot(),
          coarse: stage[a].coarseLatency.intervals(),
          sumNanos: stage[a].latencySumNanos,
          withoutSum: stage[a].latencyValuesWithoutSum,
        },
      ]),
    ),
  }));
}

describe("a judge's merge of N forwarders' state", () => {
  it('equals one instance fed the same spans and points, bucket for bucket, however exports are retried or reordered', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(fc.constant(n), items(n), fc.nat(), fc.nat())),
        ([forwarders, all, half, order]) => {
          const single = instance(JUDGE);
          for (const { observation } of all) single.accept(observation, NOW - 1_000);
          single.advance(NOW);

          const judge = instance(JUDGE);
          const split = half % (all.length + 1);
          for (let f = 0; f < forwarders; f += 1) {
            const forwarder = instance(FORWARDER);
            const mine = all.filter((item) => item.forwarder === f).map((item) => item.observation);
            // Two exports: after the first part of its traffic, then after all of it.
            for (const o of mine.filter((_, i) => i < split)) forwarder.accept(o, NOW - 1_500);
            const first = exportBytes(forwarder, f, NOW - 1_500);
            for (const o of mine.filter((_, i) => i >= split)) forwarder.accept(o, NOW - 1_000);
            const second = exportBytes(forwarder, f, NOW - 1_000);
            // Retried, duplicated, and late: the older export after the newer one is ignored.
            const deliveries = order % 2 === 0 ? [first, second, second, first] : [second, first, second];
            for (const requests of deliveries) for (const bytes of requests) deliver(judge, bytes);
          }
          judge.advance(NOW);
          expect(comparable(judge.read())).toEqual(comparable(single.read()));
        },
      ),
      { numRuns: 60, seed: 1414 },
    );
  });
});
