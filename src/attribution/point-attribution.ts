// Metric points -> observations: histogram, exponential histogram and monotonic sum points of the metric
// an analysis names, as deltas (metric-streams.ts), in nanoseconds (histogram-units.ts), attributed by a
// variant attribute on the point or its resource, or else by the known variants of their exemplars'
// traces. Gauges, summaries and non-monotonic sums carry no per-request evidence and are ignored, counted.
//
// Exemplars are a sample: when a stream mixes both arms (a flag evaluated per request), attributing the
// whole delta to its exemplars' variant is an approximation, so it is used only when every known
// exemplar agrees; disagreeing exemplars count the point as `conflict`. Exemplars' trace ids also ride along
// on the observations, so a verdict can point at real requests (accumulate/trace-exemplars.ts).
//
// An analysis with `match.requestsMetric` (spanmetrics: `traces.span.metrics.calls` beside
// `traces.span.metrics.duration`) takes requests and errors from that sum and latencies only from the
// histogram, so each request counts once; errors follow the point's attributes (`status.code`, HTTP 5xx).
import { Temporality, type DecodedMetricPoint } from '../otlp/model.js';
import type { AnalysisState } from './analysis-state.js';
import { histogramInNanos, nanosPerUnit, outOfLatencyRange } from './histogram-units.js';
import type { MetricDelta, MetricStreams } from './metric-streams.js';
import type { Observation } from '../accumulate/observation.js';
import { sourceKeyOf } from './source-key.js';

type Verdict = { variant: string } | { outcome: 'unattributed' | 'conflict' };

function exemplarVariant(state: AnalysisState, point: DecodedMetricPoint, nowMs: number): Verdict {
  if (!state.rule.joinsByTrace) return { outcome: 'unattributed' };
  let variant: string | undefined;
  for (const traceId of point.exemplarTraceIds) {
    const known = state.buffer.lookup(traceId, nowMs);
    if (known === undefined || known === null) continue; // unknown, or conflicting
    if (variant !== undefined && variant !== known) return { outcome: 'conflict' };
    variant = known;
  }
  return variant === undefined ? { outcome: 'unattributed' } : { variant };
}

function unusable(
  state: AnalysisState,
  point: DecodedMetricPoint,
): 'gauge' | 'summary' | 'non_monotonic_sum' | 'unit' | 'not_a_histogram' | undefined {
  // The latency metric beside a requests metric must be a histogram: a sum there would count requests twice.
  if (point.type === 'sum' && state.rule.pointRole(point) === 'latency') return 'not_a_histogram';
  switch (point.type) {
    case 'gauge':
      return 'gauge';
    case 'summary':
      return 'summary';
    case 'sum':
      return point.isMonotonic ? undefined : 'non_monotonic_sum';
    default:
      return histogramInNanos(point.unit, undefined, undefined) === undefined ? 'unit' : undefined;
  }
}

function observe(
  state: AnalysisState,
  point: DecodedMetricPoint,
  delta: MetricDelta,
  variant: string,
  out: Observation[],
): void {
  const isHistogram = point.type !== 'sum';
  const count = (isHistogram ? delta.count : delta.value) ?? 0;
  if (count <= 0) return; // nothing happened in this interval
  // Request counts the statistics can hold exactly (a double sum can carry 1e300 or Infinity).
  if (!(count <= Number.MAX_SAFE_INTEGER)) return state.ignore('out_of_range');
  const nanos = isHistogram ? (histogramInNanos(point.unit, delta.explicit, delta.exponential) ?? {}) : {};
  if (outOfLatencyRange(nanos)) return state.ignore('out_of_range');
  const arm = state.armOf(variant, 'points');
  if (arm === undefined) return;
  state.count('points', arm);
  // Beside a requests metric (spanmetrics' calls), the histogram gives latencies only: its requests and
  // errors are the requests metric's.
  const latencyOnly = state.rule.pointRole(point) === 'latency';
  const errors = !latencyOnly && state.rule.errors.isErrorPoint(point.attributes) ? count : 0;
  const exemplarTraceIds = point.exemplarTraceIds.length > 0 ? point.exemplarTraceIds : undefined;
  const base = {
    runId: state.runId,
    arm,
    timeUnixMs: point.timeUnixMs,
    sourceKey: sourceKeyOf(point.resource),
    exemplarTraceIds,
  };
  if (!isHistogram) {
    out.push({ ...base, kind: 'count', requests: count, errors });
    return;
  }
  const factor = nanosPerUnit(point.unit) ?? 1;
  const scaled = (x: number | undefined): number | undefined => (x === undefined ? undefined : x * factor);
  out.push({
    ...base,
    kind: 'histogram',
    ...nanos,
    count,
    requests: latencyOnly ? 0 : undefined,
    errors,
    sumNanos: scaled(delta.sum),
    minNanos: scaled(delta.min),
    maxNanos: scaled(delta.max),
  });
}

/**
 * When what a cumulative point's delta counts began: its stream's previous point (as the judge received it);
 * for a stream's first point, its start time; for a restart, after both (the sender's start time may be
 * unknown, 0). Undefined for a delta point, which is its own interval.
 */
function cumulativeDeltaBegan(point: DecodedMetricPoint, delta: MetricDelta): number | undefined {
  if (point.temporality !== Temporality.CUMULATIVE) return undefined;
  const { previousSeenMs } = delta;
  if (previousSeenMs === undefined) return point.startTimeUnixMs;
  return delta.reset ? Math.max(previousSeenMs, point.startTimeUnixMs) : previousSeenMs;
}

/** Attributes every point of one export request to the metric analyses; appends to `out`. */
export function attributePoints(
  points: readonly DecodedMetricPoint[],
  states: readonly AnalysisState[],
  streams: MetricStreams,
  nowMs: number,
  onReset: () => void,
  out: Observation[],
): void {
  if (states.length === 0) return;
  for (const point of points) {
    let matched: AnalysisState[] | undefined;
    for (const state of states) if (state.rule.matchesPoint(point)) (matched ??= []).push(state);
    if (!matched) continue;
    let usable: AnalysisState[] | undefined;
    for (const state of matched) {
      const reason = unusable(state, point);
      if (reason === undefined) (usable ??= []).push(state);
      else state.ignore(reason);
    }
    if (!usable) continue;
    matched = usable;
    // A staleness marker holds no data: it must not move its stream either, or the series' next point would
    // be taken for a restart (a histogram marker starts at its own time) and counted whole again.
    if (point.noRecordedValue === true) {
      for (const state of matched) state.ignore('no_recorded_value');
      continue;
    }
    // One delta per point, shared by every analysis of the metric: the stream state must advance
    // whether or not this point can be attributed, or the next delta would span two intervals.
    const result = streams.toDelta(point, nowMs);
    if (result.kind !== 'delta') {
      for (const state of matched) state.ignore(result.kind);
      continue;
    }
    if (result.delta.reset) onReset();
    const beganMs = cumulativeDeltaBegan(point, result.delta);
    for (const state of matched) {
      // A cumulative delta that began before the run was routed counts requests from before the run (a
      // stream last seen by the analysis's previous run or by another analysis, or one new to the judge that
      // started before the run, as a canary pod taking traffic before its analysis starts): for this run the
      // point only sets the reference, as a stream's first point does.
      if (beganMs !== undefined && beganMs < state.routedAtMs) {
        state.ignore('stream_started');
        continue;
      }
      const own = state.rule.variantOfPoint(point);
      const verdict: Verdict = own !== undefined ? { variant: own } : exemplarVariant(state, point, nowMs);
      if ('variant' in verdict) observe(state, point, result.delta, verdict.variant, out);
      else state.count('points', verdict.outcome);
    }
  }
}
