// Validation of stored per-arm state before it is restored (issue 9: a poisoned snapshot froze every boot).
// A snapshot comes from our own database, but a bad one (written by an older build, by hand, or by a disk
// fault) must never reach the statistics: every field is checked against the same ranges the live path
// enforces, and anything else is a SnapshotError naming the field, which the caller quarantines (log line,
// counter, empty arms) instead of crashing or wedging the boot.
import { MAX_LATENCY_NANOS } from '../otlp/model.js';
import type {
  AnalysisSequentialState,
  ErrorBlockState,
  StageSequentialState,
} from '../stats/analysis-policy.js';
import type { ArmStateSnapshot } from './arm-state.js';
import type { CoarseLatencySnapshot } from './coarse-latency.js';
import type { ForwardedEvidenceSnapshot } from './forwarded-evidence.js';
import { MAX_SCALE, MIN_SCALE } from './exponential-mapping.js';
import type { LatencyHistogramSnapshot } from './latency-histogram.js';
import type { RunEvidenceSnapshot, StageEvidenceSnapshot } from './run-evidence.js';
import { TRACE_EXAMPLES_KEPT, type TraceExamplesSnapshot } from './trace-examples.js';
import { MAX_EXEMPLAR_TRACES, type TraceExemplarsSnapshot } from './trace-exemplars.js';

/** Most buckets a stored histogram may declare (the default is 4096). */
export const MAX_SNAPSHOT_BUCKETS = 65_536;
/** Most coarse intervals an arm may declare (the default is 1024). */
export const MAX_SNAPSHOT_INTERVALS = 65_536;
/** Most stages, or slices held behind the watermark, a stored run may declare. */
export const MAX_SNAPSHOT_STAGES = 10_000;

export class SnapshotError extends Error {
  readonly code = 'SNAPSHOT_INVALID';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'SnapshotError';
  }
}

type Json = Record<string, unknown>;

function objectAt(value: unknown, field: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new SnapshotError(field, 'expected an object');
  return value as Json;
}

function countAt(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new SnapshotError(field, `expected a whole number from 0 to 2^53 - 1, found ${String(value)}`);
  return value as number;
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    throw new SnapshotError(field, `expected an integer from ${min} to ${max}, found ${String(value)}`);
  return value as number;
}

/** A stored p-value; null (NaN, which JSON cannot hold) resumes as 1: no evidence, the safe side. */
function probability(value: unknown, field: string): number {
  if (value === null) return 1;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    throw new SnapshotError(field, `expected a probability in [0, 1], found ${String(value)}`);
  return value;
}

export function parseLatencyHistogramSnapshot(value: unknown, field: string): LatencyHistogramSnapshot {
  const s = objectAt(value, field);
  const scale = integerIn(s.scale, `${field}.scale`, MIN_SCALE, MAX_SCALE);
  const maxBuckets = integerIn(s.maxBuckets, `${field}.maxBuckets`, 2, MAX_SNAPSHOT_BUCKETS);
  const zeroThresholdNanos = s.zeroThresholdNanos;
  if (
    typeof zeroThresholdNanos !== 'number' ||
    !(zeroThresholdNanos >= 0 && zeroThresholdNanos <= MAX_LATENCY_NANOS)
  )
    throw new SnapshotError(
      `${field}.zeroThresholdNanos`,
      `expected 0 to 2^53 ns, found ${String(zeroThresholdNanos)}`,
    );
  const zeroCount = countAt(s.zeroCount, `${field}.zeroCount`);
  // Bucket edges must stay within [2^-64, 2^53] ns, as LatencyHistogram keeps them (latency-histogram.ts).
  const lowest = Math.floor(-64 * 2 ** scale);
  const highest = Math.ceil(Math.log2(MAX_LATENCY_NANOS) * 2 ** scale) - 1;
  const offset = integerIn(s.offset, `${field}.offset`, lowest, highest);
  if (!Array.isArray(s.counts)) throw new SnapshotError(`${field}.counts`, 'expected an array');
  if (s.counts.length > maxBuckets)
    throw new SnapshotError(`${field}.counts`, `${s.counts.length} buckets exceed maxBuckets ${maxBuckets}`);
  if (s.counts.length > 0 && offset + s.counts.length - 1 > highest)
    throw new SnapshotError(
      `${field}.counts`,
      `buckets reach index ${offset + s.counts.length - 1}, past ${highest}`,
    );
  let total = zeroCount;
  const counts = s.counts.map((count: unknown, i: number) => {
    total += countAt(count, `${field}.counts[${i}]`);
    return count as number;
  });
  if (total > Number.MAX_SAFE_INTEGER) throw new SnapshotError(field, 'counts add up to more than 2^53 - 1');
  return { scale, maxBuckets, zeroThresholdNanos, zeroCount, offset, counts };
}

/** A finite number within [min, max]; JSON cannot hold NaN or Infinity, so null is refused too. */
function numberIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !(value >= min && value <= max))
    throw new SnapshotError(field, `expected a number from ${min} to ${max}, found ${String(value)}`);
  return value;
}

function arrayAt(value: unknown, field: string, maxLength: number): unknown[] {
  if (!Array.isArray(value)) throw new SnapshotError(field, 'expected an array');
  if (value.length > maxLength)
    throw new SnapshotError(field, `${value.length} entries exceed the limit of ${maxLength}`);
  return value;
}

/** A latency edge in ns, or null for an infinite upper edge when `open` allows it. */
function edgeAt(value: unknown, field: string, open: boolean): number | null {
  if (value === null && open) return null;
  return numberIn(value, field, 0, MAX_LATENCY_NANOS);
}

export function parseCoarseLatencySnapshot(value: unknown, field: string): CoarseLatencySnapshot {
  const s = objectAt(value, field);
  const maxIntervals = integerIn(s.maxIntervals, `${field}.maxIntervals`, 1, MAX_SNAPSHOT_INTERVALS);
  const coarsened = countAt(s.coarsened, `${field}.coarsened`);
  let total = 0;
  const intervals = arrayAt(s.intervals, `${field}.intervals`, maxIntervals).map((entry, i) => {
    const at = `${field}.intervals[${i}]`;
    const tuple = arrayAt(entry, at, 5);
    if (tuple.length !== 5) throw new SnapshotError(at, 'expected [lower, upper, lower, upper, count]');
    const nominalLower = edgeAt(tuple[0], `${at}[0]`, false) as number;
    const nominalUpper = edgeAt(tuple[1], `${at}[1]`, true);
    const lower = edgeAt(tuple[2], `${at}[2]`, false) as number;
    const upper = edgeAt(tuple[3], `${at}[3]`, true);
    if ((nominalUpper !== null && nominalUpper < nominalLower) || (upper !== null && upper < lower))
      throw new SnapshotError(at, 'an upper edge lies below its lower edge');
    const count = countAt(tuple[4], `${at}[4]`);
    total += count;
    return [nominalLower, nominalUpper, lower, upper, count] as CoarseLatencySnapshot['intervals'][number];
  });
  if (total > Number.MAX_SAFE_INTEGER) throw new SnapshotError(field, 'counts add up to more than 2^53 - 1');
  return { maxIntervals, coarsened, intervals };
}

export function parseArmStateSnapshot(value: unknown, field: string): ArmStateSnapshot {
  const s = objectAt(value, field);
  const requests = countAt(s.requests, `${field}.requests`);
  const errors = countAt(s.errors, `${field}.errors`);
  if (errors > requests)
    throw new SnapshotError(`${field}.errors`, `${errors} errors exceed ${requests} requests`);
  const arm: ArmStateSnapshot = {
    requests,
    errors,
    latency: parseLatencyHistogramSnapshot(s.latency, `${field}.latency`),
  };
  if (s.coarseLatency !== undefined)
    arm.coarseLatency = parseCoarseLatencySnapshot(s.coarseLatency, `${field}.coarseLatency`);
  if (s.latencySumNanos !== undefined)
    arm.latencySumNanos = numberIn(s.latencySumNanos, `${field}.latencySumNanos`, 0, Number.MAX_VALUE);
  if (s.latencyValuesWithoutSum !== undefined)
    arm.latencyValuesWithoutSum = countAt(s.latencyValuesWithoutSum, `${field}.latencyValuesWithoutSum`);
  if (s.exemplars !== undefined) arm.exemplars = parseExemplars(s.exemplars, `${field}.exemplars`);
  return arm;
}

/** Trace ids (hex, at most 32 characters), at most MAX_EXEMPLAR_TRACES of each kind. */
function parseExemplars(value: unknown, field: string): TraceExemplarsSnapshot {
  const s = objectAt(value, field);
  const ids = (list: unknown, at: string): string[] =>
    arrayAt(list, at, MAX_EXEMPLAR_TRACES).map((id, i) => traceIdAt(id, `${at}[${i}]`));
  return { errors: ids(s.errors, `${field}.errors`), others: ids(s.others, `${field}.others`) };
}

function traceIdAt(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{1,32}$/.test(value))
    throw new SnapshotError(field, 'expected a trace id in hex');
  return value;
}

/** The report's trace examples (trace-examples.ts): at most TRACE_EXAMPLES_KEPT of each kind. */
function parseTraceExamples(value: unknown, field: string): TraceExamplesSnapshot {
  const s = objectAt(value, field);
  const examples = (list: unknown, at: string) =>
    arrayAt(list, at, TRACE_EXAMPLES_KEPT).map((entry, i) => {
      const e = objectAt(entry, `${at}[${i}]`);
      return {
        traceId: traceIdAt(e.traceId, `${at}[${i}].traceId`),
        durationNanos: numberIn(e.durationNanos, `${at}[${i}].durationNanos`, 0, MAX_LATENCY_NANOS),
        timeUnixMs: numberIn(e.timeUnixMs, `${at}[${i}].timeUnixMs`, 0, Number.MAX_SAFE_INTEGER),
      };
    });
  return {
    slowest: examples(s.slowest, `${field}.slowest`),
    failing: examples(s.failing, `${field}.failing`),
  };
}

const ARMS = new Set(['baseline', 'canary']);

function armAt(value: unknown, field: string): 'baseline' | 'canary' {
  if (typeof value !== 'string' || !ARMS.has(value))
    throw new SnapshotError(field, `expected "baseline" or "canary", found ${String(value)}`);
  return value as 'baseline' | 'canary';
}

/** Exponential buckets as a forwarder sends them: scale in range, every edge within the latency range. */
function parseExponentialBuckets(value: unknown, field: string): void {
  const s = objectAt(value, field);
  const scale = integerIn(s.scale, `${field}.scale`, MIN_SCALE, MAX_SCALE);
  countAt(s.zeroCount, `${field}.zeroCount`);
  numberIn(s.zeroThreshold, `${field}.zeroThreshold`, 0, MAX_LATENCY_NANOS);
  const lowest = Math.floor(-64 * 2 ** scale);
  const highest = Math.ceil(Math.log2(MAX_LATENCY_NANOS) * 2 ** scale) - 1;
  for (const side of ['positive', 'negative'] as const) {
    const buckets = objectAt(s[side], `${field}.${side}`);
    const offset = integerIn(buckets.offset, `${field}.${side}.offset`, lowest, highest);
    const counts = arrayAt(buckets.bucketCounts, `${field}.${side}.bucketCounts`, MAX_SNAPSHOT_BUCKETS);
    if (counts.length > 0 && offset + counts.length - 1 > highest)
      throw new SnapshotError(`${field}.${side}.bucketCounts`, `buckets reach index past ${highest}`);
    counts.forEach((count, i) => countAt(count, `${field}.${side}.bucketCounts[${i}]`));
  }
}

/** One forwarded cumulative value (forwarded-evidence.ts ForwardedValue, infinite edges as null). */
function parseForwardedValue(value: unknown, field: string): unknown {
  const s = objectAt(value, field);
  switch (s.field) {
    case 'requests':
    case 'errors':
    case 'splitRequests':
    case 'latencyValuesWithoutSum':
      countAt(s.value, `${field}.value`);
      return s;
    case 'latency': {
      const latency = objectAt(s.latency, `${field}.latency`);
      parseExponentialBuckets(latency.buckets, `${field}.latency.buckets`);
      numberIn(latency.sumNanos, `${field}.latency.sumNanos`, 0, Number.MAX_VALUE);
      return s;
    }
    case 'coarseLatency': {
      const interval = objectAt(s.interval, `${field}.interval`);
      const nominalLower = edgeAt(interval.nominalLowerNanos, `${field}.interval.nominalLowerNanos`, false);
      const nominalUpper = edgeAt(interval.nominalUpperNanos, `${field}.interval.nominalUpperNanos`, true);
      const lower = edgeAt(interval.lowerNanos, `${field}.interval.lowerNanos`, false);
      const upper = edgeAt(interval.upperNanos, `${field}.interval.upperNanos`, true);
      if (
        (nominalUpper !== null && nominalUpper < (nominalLower as number)) ||
        (upper !== null && upper < (lower as number))
      )
        throw new SnapshotError(`${field}.interval`, 'an upper edge lies below its lower edge');
      countAt(interval.count, `${field}.interval.count`);
      return s;
    }
    default:
      throw new SnapshotError(`${field}.field`, `unknown forwarded field ${String(s.field)}`);
  }
}

/** State forwarded by the instances of a fleet: each forwarder's latest values and retired lives. */
function parseForwarded(value: unknown, field: string): ForwardedEvidenceSnapshot {
  const s = objectAt(value, field);
  const stageAt = (v: unknown, at: string): number => integerIn(v, at, 1, MAX_SNAPSHOT_STAGES);
  const sources = arrayAt(s.sources, `${field}.sources`, MAX_SNAPSHOT_STAGES).map((entry, i) => {
    const at = `${field}.sources[${i}]`;
    const source = objectAt(entry, at);
    if (typeof source.forwarderId !== 'string' || source.forwarderId.length > 256)
      throw new SnapshotError(`${at}.forwarderId`, 'expected a forwarder id of at most 256 characters');
    numberIn(source.startTimeMs, `${at}.startTimeMs`, 0, Number.MAX_SAFE_INTEGER);
    arrayAt(source.streams, `${at}.streams`, MAX_SNAPSHOT_STAGES * 16).forEach((stream, j) => {
      const st = objectAt(stream, `${at}.streams[${j}]`);
      stageAt(st.stage, `${at}.streams[${j}].stage`);
      armAt(st.arm, `${at}.streams[${j}].arm`);
      numberIn(st.timeMs, `${at}.streams[${j}].timeMs`, 0, Number.MAX_SAFE_INTEGER);
      parseForwardedValue(st.value, `${at}.streams[${j}].value`);
    });
    return source;
  });
  const retired = arrayAt(s.retired, `${field}.retired`, MAX_SNAPSHOT_STAGES).map((entry, i) => {
    const at = `${field}.retired[${i}]`;
    const r = objectAt(entry, at);
    return {
      stage: stageAt(r.stage, `${at}.stage`),
      arm: armAt(r.arm, `${at}.arm`),
      state: parseArmStateSnapshot(r.state, `${at}.state`),
      split: countAt(r.split, `${at}.split`),
    };
  });
  // Sources were checked field by field above; their shape is the snapshot's own.
  return { sources: sources as unknown as ForwardedEvidenceSnapshot['sources'], retired };
}

function parseStage(value: unknown, field: string): StageEvidenceSnapshot {
  const s = objectAt(value, field);
  const stage: StageEvidenceSnapshot = {
    startedAtMs: numberIn(s.startedAtMs, `${field}.startedAtMs`, 0, Number.MAX_SAFE_INTEGER),
    canaryShare:
      s.canaryShare === null ? null : numberIn(s.canaryShare, `${field}.canaryShare`, Number.MIN_VALUE, 1),
    baseline: parseArmStateSnapshot(s.baseline, `${field}.baseline`),
    canary: parseArmStateSnapshot(s.canary, `${field}.canary`),
  };
  if (s.settled !== undefined) {
    const settled = objectAt(s.settled, `${field}.settled`);
    stage.settled = {
      baseline: countAt(settled.baseline, `${field}.settled.baseline`),
      canary: countAt(settled.canary, `${field}.settled.canary`),
    };
  }
  return stage;
}

/** A run's evidence per stage and the slices held behind its watermark (run-evidence.ts). */
export function parseRunEvidenceSnapshot(value: unknown, field = 'evidence'): RunEvidenceSnapshot {
  const s = objectAt(value, field);
  if (s.version !== 1) throw new SnapshotError(`${field}.version`, `expected 1, found ${String(s.version)}`);
  const stages = arrayAt(s.stages, `${field}.stages`, MAX_SNAPSHOT_STAGES).map((stage, i) =>
    parseStage(stage, `${field}.stages[${i}]`),
  );
  if (stages.length === 0) throw new SnapshotError(`${field}.stages`, 'expected at least one stage');
  const held = arrayAt(s.held, `${field}.held`, MAX_SNAPSHOT_STAGES).map((entry, i) => {
    const at = `${field}.held[${i}]`;
    const slice = objectAt(entry, at);
    return {
      sliceStartMs: numberIn(slice.sliceStartMs, `${at}.sliceStartMs`, 0, Number.MAX_SAFE_INTEGER),
      baseline: parseArmStateSnapshot(slice.baseline, `${at}.baseline`),
      canary: parseArmStateSnapshot(slice.canary, `${at}.canary`),
    };
  });
  const watermarkMs =
    s.watermarkMs === null
      ? null
      : numberIn(s.watermarkMs, `${field}.watermarkMs`, 0, Number.MAX_SAFE_INTEGER);
  const evidence: RunEvidenceSnapshot = { version: 1, watermarkMs, stages, held };
  if (s.traceExamples !== undefined && s.traceExamples !== null)
    evidence.traceExamples = parseTraceExamples(s.traceExamples, `${field}.traceExamples`);
  if (s.forwarded !== undefined && s.forwarded !== null)
    evidence.forwarded = parseForwarded(s.forwarded, `${field}.forwarded`);
  return evidence;
}

function parseErrorBlocks(value: unknown, field: string): ErrorBlockState {
  const s = objectAt(value, field);
  const sum = (key: keyof ErrorBlockState): number =>
    numberIn(s[key], `${field}.${key}`, 0, Number.MAX_VALUE);
  return {
    requests: countAt(s.requests, `${field}.requests`),
    errors: countAt(s.errors, `${field}.errors`),
    blocks: countAt(s.blocks, `${field}.blocks`),
    sumRequestsSquared: sum('sumRequestsSquared'),
    sumErrorsSquared: sum('sumErrorsSquared'),
    sumRequestsErrors: sum('sumRequestsErrors'),
  };
}

function parseStageState(value: unknown, field: string): StageSequentialState {
  const s = objectAt(value, field);
  const blocks = objectAt(s.errorBlocks, `${field}.errorBlocks`);
  const stage: StageSequentialState = {
    errorBlocks: {
      baseline: parseErrorBlocks(blocks.baseline, `${field}.errorBlocks.baseline`),
      canary: parseErrorBlocks(blocks.canary, `${field}.errorBlocks.canary`),
    },
  };
  // The memo is a cache (decisions are the same without it): a bad one is dropped, not quarantined.
  if (s.memo !== undefined && s.memo !== null) {
    const memo = objectAt(s.memo, `${field}.memo`);
    const logEvidence: Record<string, number> = {};
    let valid = typeof memo.fingerprint === 'string';
    for (const [key, v] of Object.entries(objectAt(memo.logEvidence, `${field}.memo.logEvidence`))) {
      if (typeof v === 'number' && Number.isFinite(v)) logEvidence[key] = v;
      else valid = false;
    }
    if (valid) stage.memo = { fingerprint: memo.fingerprint as string, logEvidence };
  }
  return stage;
}

/** What a run carries between ticks: every p-value a probability, every block sum finite. */
export function parseSequentialState(value: unknown, field = 'carried'): AnalysisSequentialState {
  const s = objectAt(value, field);
  if (s.version !== 2) throw new SnapshotError(`${field}.version`, `expected 2, found ${String(s.version)}`);
  const metrics: AnalysisSequentialState['metrics'] = {};
  for (const [id, entry] of Object.entries(objectAt(s.metrics, `${field}.metrics`))) {
    const m = objectAt(entry, `${field}.metrics.${id}`);
    metrics[id] = {
      worsePValue: probability(m.worsePValue, `${field}.metrics.${id}.worsePValue`),
      withinPValue: probability(m.withinPValue, `${field}.metrics.${id}.withinPValue`),
    };
    // The pass bound's running minimum (null: +Infinity) and the fail bound's warm start. A bad one is dropped,
    // not quarantined: without it the minimum starts again from the next tick's bound (wider, still valid)
    // and the fail bound's search starts cold.
    // `upper` is a ratio or, for error rates, a difference (negative when the canary is better).
    if (m.upper === null || (typeof m.upper === 'number' && Number.isFinite(m.upper))) {
      metrics[id].upper = m.upper;
    }
    if (typeof m.lower === 'number' && Number.isFinite(m.lower) && m.lower > 0) metrics[id].lower = m.lower;
  }
  const stages = arrayAt(s.stages, `${field}.stages`, MAX_SNAPSHOT_STAGES).map((stage, i) =>
    parseStageState(stage, `${field}.stages[${i}]`),
  );
  return {
    version: 2,
    metrics,
    srmPValue: probability(s.srmPValue, `${field}.srmPValue`),
    metricsPValue: probability(s.metricsPValue, `${field}.metricsPValue`),
    stages,
  };
}

/** A stored run snapshot as the run book writes it: `{ evidence, carried }` as JSON. Throws SnapshotError. */
export function parseStoredSnapshot(json: string): {
  evidence: RunEvidenceSnapshot;
  carried: AnalysisSequentialState;
} {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new SnapshotError('(snapshot)', `not valid JSON: ${(error as Error).message}`);
  }
  const s = objectAt(value, '(snapshot)');
  return { evidence: parseRunEvidenceSnapshot(s.evidence), carried: parseSequentialState(s.carried) };
}
