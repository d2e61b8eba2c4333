// One-line reasons a person can act on, built from a metric result's own evidence.
import { type MetricResult, numeric, type ReportedNumber } from './analysis-policy.js';
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
  const { samples } = evidence;
  const note = evidence.note ? `; ${evidence.note}` : '';
  if (!r.minSamplesMet || evidence.waiting) {
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
  const lowerPastLimit = numeric(r.effect.lower) > (r.kind === 'error_rate' ? r.tolerance : 1 + r.tolerance);
  if (r.kind === 'error_rate') {
    const rates = `canary ${percent(r.canary.errorRate)} vs baseline ${percent(r.baseline.errorRate)}`;
    const effect = `difference ${points(r.effect.estimate)} [${points(r.effect.lower)}, ${points(r.effect.upper)}]`;
    const verdict =
      r.decision === 'fail'
        ? `exceeds tolerance ${points(r.tolerance)}`
        : r.decision === 'pass'
          ? `within tolerance ${points(r.tolerance)}`
          : `not yet decided against tolerance ${points(r.tolerance)}`;
    return `${r.id}: ${rates}, ${effect} ${verdict} (${p})${note}`;
  }
  const limit = ratio(1 + r.tolerance);
  if (r.kind === 'latency_mean') {
    const values = `mean canary ${millis(r.canary.meanNanos)} vs baseline ${millis(r.baseline.meanNanos)}`;
    const effect = `ratio ${ratio(r.effect.estimate)} [${ratio(r.effect.lower)}, ${ratio(r.effect.upper)}]`;
    const verdict =
      r.decision === 'fail'
        ? `exceeds tolerance ${limit}`
        : r.decision === 'pass'
          ? `within tolerance ${limit}`
          : `not yet decided against ${limit}`;
    return `${r.id}: ${values}, ${effect} ${verdict} (${p})${note}`;
  }
  const q = r.quantile ?? 0.5;
  const pick = (s: MetricResult['canary']): number =>
    s.quantiles.find((x) => x.quantile === q)?.estimateNanos ?? NaN;
  const values = `canary ${millis(pick(r.canary))} vs baseline ${millis(pick(r.baseline))}`;
  const effect = `ratio ${ratio(r.effect.estimate)} [${ratio(r.effect.lower)}, ${ratio(r.effect.upper)}]`;
  // A latency fail comes from the two-sample mixture (quantile-two-sample.ts), which can decide while the
  // per-arm ratio bounds shown still reach below the limit; say so rather than look contradictory.
  const verdict =
    r.decision === 'fail'
      ? lowerPastLimit
        ? `exceeds tolerance ${limit}`
        : `exceeds tolerance ${limit} by the two-sample test (per-arm bounds not yet past it)`
      : r.decision === 'pass'
        ? `within tolerance ${limit}`
        : `not yet decided against ${limit}${coarseSentence(r)}`;
  const sample = r.canary.coarseLatencySamples + r.baseline.coarseLatencySamples > 0 ? ' (bucket edges)' : '';
  return `${r.id}: ${values}${sample}, ${effect} ${verdict} (${p})${note}`;
}
