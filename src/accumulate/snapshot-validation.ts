// Validation of stored per-arm state before it is restored (issue 9: a poisoned snapshot froze every boot).
// A snapshot comes from our own database, but a bad one (written by an older build, by hand, or by a disk
// fault) must never reach the statistics: every field is checked against the same ranges the live path
// enforces, and anything else is a SnapshotError naming the field, which the caller quarantines (log line,
// counter, empty arms) instead of crashing or wedging the boot.
import { MAX_LATENCY_NANOS } from '../attribution/observation.js';
import type { AnalysisSequentialState } from '../stats/analysis-policy.js';
import type { AnalysisArmsSnapshot } from './accumulator.js';
import type { ArmStateSnapshot } from './arm-state.js';
import { MAX_SCALE, MIN_SCALE } from './exponential-mapping.js';
import type { LatencyHistogramSnapshot } from './latency-histogram.js';

/** Most buckets a stored histogram may declare (the default is 4096). */
export const MAX_SNAPSHOT_BUCKETS = 65_536;

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

export function parseArmStateSnapshot(value: unknown, field: string): ArmStateSnapshot {
  const s = objectAt(value, field);
  const requests = countAt(s.requests, `${field}.requests`);
  const errors = countAt(s.errors, `${field}.errors`);
  if (errors > requests)
    throw new SnapshotError(`${field}.errors`, `${errors} errors exceed ${requests} requests`);
  return { requests, errors, latency: parseLatencyHistogramSnapshot(s.latency, `${field}.latency`) };
}

export function parseAnalysisArmsSnapshot(value: unknown, field = 'arms'): AnalysisArmsSnapshot {
  const s = objectAt(value, field);
  return {
    baseline: parseArmStateSnapshot(s.baseline, `${field}.baseline`),
    canary: parseArmStateSnapshot(s.canary, `${field}.canary`),
  };
}

/** The running minima carried between ticks: every p-value a probability. */
export function parseSequentialState(value: unknown, field = 'carried'): AnalysisSequentialState {
  const s = objectAt(value, field);
  if (s.version !== 1) throw new SnapshotError(`${field}.version`, `expected 1, found ${String(s.version)}`);
  const metrics: AnalysisSequentialState['metrics'] = {};
  for (const [id, entry] of Object.entries(objectAt(s.metrics, `${field}.metrics`))) {
    const m = objectAt(entry, `${field}.metrics.${id}`);
    metrics[id] = {
      worsePValue: probability(m.worsePValue, `${field}.metrics.${id}.worsePValue`),
      withinPValue: probability(m.withinPValue, `${field}.metrics.${id}.withinPValue`),
    };
  }
  return { version: 1, metrics, srmPValue: probability(s.srmPValue, `${field}.srmPValue`) };
}

/** A stored snapshot as the judge writes it: `{ arms, carried }` as JSON. Throws SnapshotError. */
export function parseStoredSnapshot(json: string): {
  arms: AnalysisArmsSnapshot;
  carried: AnalysisSequentialState;
} {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new SnapshotError('(snapshot)', `not valid JSON: ${(error as Error).message}`);
  }
  const s = objectAt(value, '(snapshot)');
  return { arms: parseAnalysisArmsSnapshot(s.arms), carried: parseSequentialState(s.carried) };
}
