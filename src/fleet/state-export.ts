// A forwarding instance's runs as OTLP metrics (fleet-metrics.ts names them): pure, from each run's own judged
// evidence per stage to the OTel SDK's ResourceMetrics, which the SDK's OTLP exporter sends. Cumulative: every
// value is the run's total at this instance since `startTimeMs`, so sending it twice, or late, changes nothing
// at the judge, and the judge's state after a crash is rebuilt by the next export.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { ArmState } from '../accumulate/arm-state.js';
import type { Arm } from '../accumulate/observation.js';
import type { StageEvidence } from '../accumulate/run-evidence.js';
import { VERSION } from '../version.js';
import { FLEET_ATTRIBUTES, FLEET_METRICS, FLEET_SCOPE, fleetServiceName } from './fleet-metrics.js';

/** One run's state at a forwarder. */
export interface RunStateExport {
  runId: string;
  analysisId: string;
  /** When this forwarder began the run's cumulative state (ms since the epoch). */
  startTimeMs: number;
  /** The forwarder's watermark for the run: its evidence up to here is in `stages`. */
  watermarkMs: number;
  /** The forwarder's own judged evidence, per stage (index = stage number - 1). */
  stages: readonly StageEvidence[];
}

const ARMS: readonly Arm[] = ['baseline', 'canary'];

export function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6))];
}

function hasEvidence(arm: ArmState): boolean {
  return arm.requests > 0 || arm.latencyCount > 0;
}

type Points = {
  [K in keyof typeof FLEET_METRICS]: K extends 'latency'
    ? DataPoint<ExponentialHistogram>[]
    : K extends 'coarseLatency'
      ? DataPoint<Histogram>[]
      : DataPoint<number>[];
};

function emptyPoints(): Points {
  return {
    requests: [],
    errors: [],
    splitRequests: [],
    latency: [],
    latencyValuesWithoutSum: [],
    coarseLatency: [],
  };
}

function addArm(points: Points, run: RunStateExport, stage: number, arm: Arm, forwarderId: string): void {
  const evidence = run.stages[stage - 1];
  const state = evidence[arm];
  const attributes: Attributes = {
    [FLEET_ATTRIBUTES.runId]: run.runId,
    [FLEET_ATTRIBUTES.analysisId]: run.analysisId,
    [FLEET_ATTRIBUTES.stage]: stage,
    [FLEET_ATTRIBUTES.arm]: arm,
    [FLEET_ATTRIBUTES.forwarderId]: forwarderId,
  };
  const startTime = hrTime(run.startTimeMs);
  const endTime = hrTime(run.watermarkMs);
  const point = <T>(value: T, extra: Attributes = {}): DataPoint<T> => ({
    startTime,
    endTime,
    attributes: { ...attributes, ...extra },
    value,
  });
  points.requests.push(point(state.requests));
  points.errors.push(point(state.errors));
  points.splitRequests.push(point(evidence.settled[arm]));
  points.latencyValuesWithoutSum.push(point(state.latencyValuesWithoutSum));
  const latency = state.latency.toSnapshot();
  points.latency.push(
    point<ExponentialHistogram>({
      count: state.latency.count,
      sum: state.latencySumNanos,
      scale: latency.scale,
      zeroCount: latency.zeroCount,
      positive: { offset: latency.offset, bucketCounts: latency.counts },
      negative: { offset: 0, bucketCounts: [] },
    }),
  );
  for (const [nominalLower, nominalUpper, lower, upper, count] of state.coarseLatency.toSnapshot()
    .intervals) {
    const boundaries = nominalUpper === null ? [nominalLower] : [nominalLower, nominalUpper];
    const counts = nominalUpper === null ? [0, count] : [0, count, 0];
    points.coarseLatency.push(
      point<Histogram>(
        { buckets: { boundaries, counts }, count, min: lower, max: upper ?? undefined },
        { [FLEET_ATTRIBUTES.interval]: `${nominalLower}|${nominalUpper ?? 'inf'}` },
      ),
    );
  }
}

function metric(name: keyof typeof FLEET_METRICS, points: Points): MetricData | undefined {
  const base = { aggregationTemporality: AggregationTemporality.CUMULATIVE };
  const descriptor = (unit: string, description: string, valueType = ValueType.INT) => ({
    name: FLEET_METRICS[name],
    description,
    unit,
    valueType,
  });
  switch (name) {
    case 'latency':
      return points.latency.length === 0
        ? undefined
        : {
            ...base,
            dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
            descriptor: descriptor('ns', 'Latencies of a run x stage x arm at a forwarder', ValueType.DOUBLE),
            dataPoints: points.latency,
          };
    case 'coarseLatency':
      return points.coarseLatency.length === 0
        ? undefined
        : {
            ...base,
            dataPointType: DataPointType.HISTOGRAM,
            descriptor: descriptor(
              'ns',
              'Interval-censored latencies, one bucket per point',
              ValueType.DOUBLE,
            ),
            dataPoints: points.coarseLatency,
          };
    default: {
      const dataPoints = points[name];
      const unit = name === 'latencyValuesWithoutSum' ? '{value}' : '{request}';
      return dataPoints.length === 0
        ? undefined
        : {
            ...base,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            descriptor: descriptor(unit, `Cumulative ${name} of a run x stage x arm at a forwarder`),
            dataPoints,
          };
    }
  }
}

/** The runs' state as one ResourceMetrics per analysis (its routing key); empty arms are left out. */
export function fleetResourceMetrics(
  runs: readonly RunStateExport[],
  forwarderId: string,
): ResourceMetrics[] {
  const byAnalysis = new Map<string, Points>();
  for (const run of runs) {
    if (!Number.isFinite(run.watermarkMs)) continue;
    run.stages.forEach((stage, index) => {
      for (const arm of ARMS) {
        if (!hasEvidence(stage[arm])) continue;
        let points = byAnalysis.get(run.analysisId);
        if (!points) byAnalysis.set(run.analysisId, (points = emptyPoints()));
        addArm(points, run, index + 1, arm, forwarderId);
      }
    });
  }
  return [...byAnalysis].map(([analysisId, points]) => ({
    resource: resourceFromAttributes({ 'service.name': fleetServiceName(analysisId) }),
    scopeMetrics: [
      {
        scope: { name: FLEET_SCOPE, version: VERSION },
        metrics: (Object.keys(FLEET_METRICS) as (keyof typeof FLEET_METRICS)[]).flatMap(
          (name) => metric(name, points) ?? [],
        ),
      },
    ],
  }));
}
