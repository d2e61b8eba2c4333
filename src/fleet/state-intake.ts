// The judging side of a fleet: forwarded state arrives as ordinary OTLP metric points through the same receivers,
// decoders and limits as every sender's (fleet-metrics.ts names them). FleetIntake sits in front of attribution:
// points of the fleet scope become ForwardedPoints for the accumulator (accumulate/forwarded-evidence.ts merges
// them into their run), every other point goes on to attribution unchanged. Any instance is a judging instance
// for the runs it owns: nothing needs configuring on this side.
import { Counter, type Registry } from 'prom-client';
import type { Accumulator } from '../accumulate/accumulator.js';
import type { ForwardedPoint, ForwardedValue } from '../accumulate/forwarded-evidence.js';
import {
  Temporality,
  type DecodedMetricPoint,
  type LogBatch,
  type MetricBatch,
  type SpanBatch,
  type TelemetrySink,
} from '../otlp/model.js';
import { FLEET_ATTRIBUTES, FLEET_METRICS, FLEET_SCOPE } from './fleet-metrics.js';

const COUNT_FIELDS = {
  [FLEET_METRICS.requests]: 'requests',
  [FLEET_METRICS.errors]: 'errors',
  [FLEET_METRICS.splitRequests]: 'splitRequests',
  [FLEET_METRICS.latencyValuesWithoutSum]: 'latencyValuesWithoutSum',
} as const;

const nonNegative = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x) && x >= 0;

function valueOf(point: DecodedMetricPoint): ForwardedValue | string {
  const countField = COUNT_FIELDS[point.metricName as keyof typeof COUNT_FIELDS];
  if (countField !== undefined) {
    if (point.type !== 'sum' || !nonNegative(point.value)) return `${point.metricName}: expected a sum >= 0`;
    return { field: countField, value: point.value };
  }
  if (point.metricName === FLEET_METRICS.latency) {
    if (point.type !== 'exponential_histogram' || !point.exponential || point.unit !== 'ns') {
      return `${point.metricName}: expected an exponential histogram in ns`;
    }
    return { field: 'latency', latency: { buckets: point.exponential, sumNanos: point.sum ?? 0 } };
  }
  if (point.metricName === FLEET_METRICS.coarseLatency) {
    const explicit = point.explicit;
    if (point.type !== 'histogram' || !explicit || point.unit !== 'ns') {
      return `${point.metricName}: expected an explicit-bucket histogram in ns`;
    }
    const { bounds, bucketCounts } = explicit;
    if (bounds.length < 1 || bounds.length > 2 || !nonNegative(bucketCounts[1]) || !(bounds[0] >= 0)) {
      return `${point.metricName}: expected one interval (1 or 2 bounds, its count in the second bucket)`;
    }
    const nominalLowerNanos = bounds[0];
    const nominalUpperNanos = bounds.length === 2 ? bounds[1] : Infinity;
    return {
      field: 'coarseLatency',
      interval: {
        nominalLowerNanos,
        nominalUpperNanos,
        lowerNanos: point.min ?? nominalLowerNanos,
        upperNanos: point.max ?? nominalUpperNanos,
        count: bucketCounts[1],
      },
    };
  }
  return `unknown fleet metric ${point.metricName}`;
}

/** A fleet point as a ForwardedPoint, or why it cannot be one. */
export function forwardedPointOf(point: DecodedMetricPoint): ForwardedPoint | string {
  if (point.temporality !== Temporality.CUMULATIVE || !(point.startTimeUnixMs > 0)) {
    return `${point.metricName}: expected cumulative temporality with a start time`;
  }
  const a = point.attributes;
  const runId = a[FLEET_ATTRIBUTES.runId];
  const forwarderId = a[FLEET_ATTRIBUTES.forwarderId];
  const stage = a[FLEET_ATTRIBUTES.stage];
  const arm = a[FLEET_ATTRIBUTES.arm];
  if (typeof runId !== 'string' || runId === '' || typeof forwarderId !== 'string' || forwarderId === '') {
    return `${point.metricName}: missing ${FLEET_ATTRIBUTES.runId} or ${FLEET_ATTRIBUTES.forwarderId}`;
  }
  if (
    typeof stage !== 'number' ||
    !Number.isInteger(stage) ||
    stage < 1 ||
    (arm !== 'baseline' && arm !== 'canary')
  ) {
    return `${point.metricName}: expected ${FLEET_ATTRIBUTES.stage} >= 1 and ${FLEET_ATTRIBUTES.arm} baseline or canary`;
  }
  const value = valueOf(point);
  if (typeof value === 'string') return value;
  return {
    runId,
    forwarderId,
    startTimeMs: point.startTimeUnixMs,
    timeMs: point.timeUnixMs,
    stage,
    arm,
    value,
  };
}

export const FLEET_POINT_OUTCOMES = [
  'accepted',
  'duplicate',
  'out_of_order',
  'stale',
  'forced',
  'unknown_run',
  'too_many_sources',
  'invalid',
] as const;

/** A TelemetrySink that takes the fleet's points out of metric batches and hands the rest on. */
export class FleetIntake implements TelemetrySink {
  private readonly points: Counter<'outcome'>;

  constructor(
    private readonly next: TelemetrySink,
    private readonly accumulator: Accumulator,
    registry: Registry,
  ) {
    this.points = new Counter({
      name: 'canary_judge_fleet_points_total',
      help: 'Forwarded state points received from fleet instances, by outcome (accepted, duplicate of an export already applied, out_of_order, stale = of a restarted forwarder, forced = taken before the other forwarders reached its time, unknown_run, too_many_sources, invalid)',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }

  acceptSpans(batch: SpanBatch): void {
    this.next.acceptSpans(batch);
  }

  acceptLogs(batch: LogBatch): void {
    this.next.acceptLogs(batch);
  }

  acceptMetrics(batch: MetricBatch): void {
    let fleet: DecodedMetricPoint[] | undefined;
    for (const point of batch.points) if (point.scopeName === FLEET_SCOPE) (fleet ??= []).push(point);
    if (!fleet) return this.next.acceptMetrics(batch);
    const forwarded: ForwardedPoint[] = [];
    let invalid = 0;
    for (const point of fleet) {
      const decoded = forwardedPointOf(point);
      if (typeof decoded === 'string') invalid += 1;
      else forwarded.push(decoded);
    }
    if (invalid > 0) this.points.inc({ outcome: 'invalid' }, invalid);
    const tally = new Map<string, number>();
    this.accumulator.acceptForwarded(forwarded, (outcome) =>
      tally.set(outcome, (tally.get(outcome) ?? 0) + 1),
    );
    for (const [outcome, n] of tally) this.points.inc({ outcome }, n);
    const rest = batch.points.filter((point) => point.scopeName !== FLEET_SCOPE);
    if (rest.length > 0 || batch.rejected > 0) this.next.acceptMetrics({ ...batch, points: rest });
  }
}
