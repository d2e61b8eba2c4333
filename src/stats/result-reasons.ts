// One-line reasons a person can act on, built from a metric result's own evidence.
import { type Effect, type MetricResult, numeric, type ReportedNumber } from './analysis-policy.js';
import type { MetricEvidence } from './metric-evidence.js';

function percent(x: ReportedNumber): string {
  const v = numeric(x);
  return Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : 'n/a';
}

function points(x: ReportedNumber): string {
  const v = numeric(x);
  if (Number.isNaN(v)) return 'undefined';
  if (!Number.isFinite(v)) return v > 0 ? '+inf' : '-inf';
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}pp`;
}

function ratio(x: ReportedNumber): string {
  const v = numeric(x);
  if (Number.isNaN(v)) return 'undefined';
  return Number.isFinite(v) ? `x${v.toFixed(3)}` : 'unbounded';
}

export function millis(nanos: ReportedNumber): string {
  const v = numeric(nanos);
  if (v === Infinity) return '+inf';
  return Number.isFinite(v) ? `${Number((v / 1e6).toPrecision(4))}ms` : 'n/a';
}

function bucket(edges: [ReportedNumber, ReportedNumber]): string {
  return `${numeric(edges[0]) === 0 ? '[' : '('}${millis(edges[0])}, ${millis(edges[1])}]`;
}

const ADVICE =
  'compare the mean instead (latency metric "mean": true), widen the tolerance, or send finer buckets (exponential histograms)';

function quantileName(r: MetricResult): string {
  return `p${Number(((r.quantile ?? 0.5) * 100).toPrecision(6))}`;
}

/** The latency-quantile case where no data of this resolution can pass or fail the tolerance. */
function coarseSentence(r: MetricResult): string {
  const note = r.coarseBuckets;
  if (!note) return '';
  return (
    `; the buckets are too coarse to decide at tolerance ${ratio(1 + r.tolerance)}: the canary's ${quantileName(r)} lies in ` +
    `${bucket(note.canaryNanos)} and the baseline's in ${bucket(note.baselineNanos)} (edges up to ${ratio(note.widthRatio)} apart), ` +
    `so no amount of data at these bounds can show it within or beyond the tolerance; ${ADVICE}`
  );
}

/** One clause for the run's reason naming every too-coarse quantile and its buckets ('' when none). */
export function coarseSummary(results: readonly MetricResult[]): string {
  const coarse = results.filter((r) => r.coarseBuckets);
  if (coarse.length === 0) return '';
  const parts = coarse.map((r) => {
    const note = r.coarseBuckets!;
    return `${quantileName(r)}: canary ${bucket(note.canaryNanos)}, baseline ${bucket(note.baselineNanos)}`;
  });
  return `; buckets too coarse to decide ${coarse.map((r) => r.id).join(', ')} at tolerance ${ratio(1 + coarse[0].tolerance)} (${parts.join('; ')}): ${ADVICE}`;
}

/**
 * `tenfold`: per-arm samples the sequential tests need to decide even a x10 shift (tenfold-sample-size.ts),
 * said when the arms hold fewer, so that a handful of aggregated points does not just look slow.
 */
export function explainMetric(
  r: MetricResult,
  evidence: Pick<MetricEvidence, 'samples' | 'note' | 'waiting'>,
  minSamples: number,
  tenfold?: number,
): string {
  return flattened(metricSentence(r, evidence, minSamples, tenfold));
}

/**
 * `text` as one flat string. A reason joined from a dozen pieces is a tree of V8 cons strings, one heap object
 * per join and per number printed, and each run's document keeps its reasons until the next tick: during a
 * sliced tick every young-generation collection copied those trees (issue 13). Reading a character makes V8
 * flatten the tree into one string in place, so the pieces die young.
 */
export function flattened(text: string): string {
  text.charCodeAt(0);
  return text;
}

function metricSentence(
  r: MetricResult,
  evidence: Pick<MetricEvidence, 'samples' | 'note' | 'waiting'>,
  minSamples: number,
  tenfold?: number,
): string {
  const { samples } = evidence;
  const note = evidence.note ? `; ${evidence.note}` : '';
  // A fail can come from earlier stages' evidence while the current stage still waits: it says the fail.
  if (r.decision !== 'fail' && (!r.minSamplesMet || evidence.waiting)) {
    const waiting =
      evidence.waiting ??
      `waiting for ${minSamples} samples per arm (baseline ${samples.baseline}, canary ${samples.canary})`;
    const few =
      tenfold !== undefined && Math.max(samples.baseline, samples.canary) < tenfold
        ? `; fewer than the ${tenfold} per arm the sequential tests need to decide even a x10 shift, so a handful of aggregated points (as Kayenta judges) cannot be decided here: send per-request spans or histogram points`
        : '';
    return `${r.id}: ${waiting}${few}${note}`;
  }
  const p = `always-valid p=${r.alwaysValidPValue.toPrecision(2)}`;
  if (r.kind === 'error_rate') {
    const rates = `canary ${percent(r.canary.errorRate)} vs baseline ${percent(r.baseline.errorRate)}`;
    const effect = `difference ${points(r.effect.estimate)} [${points(r.effect.lower)}, ${points(r.effect.upper)}]`;
    return `${r.id}: ${rates}, ${effect} ${verdictWords(r, points(r.tolerance), '')}${sidePValue(r, p)}${note}`;
  }
  const limit = ratio(1 + r.tolerance);
  if (r.kind === 'latency_mean') {
    const values = `mean canary ${millis(r.canary.meanNanos)} vs baseline ${millis(r.baseline.meanNanos)}`;
    const effect = `ratio ${ratio(r.effect.estimate)} [${ratio(r.effect.lower)}, ${ratio(r.effect.upper)}]`;
    return `${r.id}: ${values}, ${effect} ${verdictWords(r, limit, '')}${sidePValue(r, p)}${note}`;
  }
  const q = r.quantile ?? 0.5;
  const pick = (s: MetricResult['canary']): number =>
    s.quantiles.find((x) => x.quantile === q)?.estimateNanos ?? NaN;
  const values = `canary ${millis(pick(r.canary))} vs baseline ${millis(pick(r.baseline))}`;
  const effect = `ratio ${ratio(r.effect.estimate)} [${ratio(r.effect.lower)}, ${ratio(r.effect.upper)}]`;
  const sample = r.canary.coarseLatencySamples + r.baseline.coarseLatencySamples > 0 ? ' (bucket edges)' : '';
  return `${r.id}: ${values}${sample}, ${effect} ${verdictWords(r, limit, coarseSentence(r))}${sidePValue(r, p)}${note}`;
}

const TEST_NAMES: Record<Effect['lowerTest'], string> = {
  'error-rate-mixture': 'error-rate mixture test',
  'mean-ratio-mixture': 'mean-ratio mixture test',
  'two-sample-quantile-mixture': 'two-sample quantile test',
  'per-arm-quantile-sequences': 'per-arm quantile sequences',
};

function level(x: number): string {
  return `${Number((x * 100).toPrecision(4))}%`;
}

/**
 * The decision in words, naming the test and level whose bound decided it: a fail's lower bound (the fail
 * test's, at the level the metric family asked) is past the tolerance, a pass's upper bound (the pass test's)
 * within it; the interval shown beside it is those same bounds (analysis-policy.ts, Effect).
 */
function verdictWords(r: MetricResult, tolerance: string, undecided: string): string {
  const stages = r.stagesCounted > 1 ? ` over ${r.stagesCounted} stages` : '';
  if (r.decision === 'fail') {
    return `exceeds tolerance ${tolerance} (lower bound by the ${TEST_NAMES[r.effect.lowerTest]}${stages}, ${level(r.effect.lowerLevel)} anytime-valid)`;
  }
  if (r.decision === 'pass') {
    return `within tolerance ${tolerance} (upper bound by the ${TEST_NAMES[r.effect.upperTest]}, ${level(r.effect.level)} anytime-valid)`;
  }
  return `not yet decided against ${tolerance}${undecided}`;
}

/** The p-value of the side that decided: "within" for a pass, "worse" otherwise. */
function sidePValue(r: MetricResult, worse: string): string {
  return r.decision === 'pass'
    ? ` (always-valid p=${r.withinPValue.toPrecision(2)} for within)`
    : ` (${worse})`;
}
