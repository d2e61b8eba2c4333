// One-line reasons a person can act on, built from a metric result's own evidence.
import type { MetricResult } from './analysis-policy.js';

function percent(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function points(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}pp`;
}

function ratio(x: number): string {
  return Number.isFinite(x) ? `x${x.toFixed(3)}` : 'unbounded';
}

function millis(nanos: number): string {
  return Number.isFinite(nanos) ? `${(nanos / 1e6).toFixed(2)}ms` : 'n/a';
}

export function explainMetric(
  r: MetricResult,
  samples: { baseline: number; canary: number },
  minSamples: number,
): string {
  if (!r.minSamplesMet) {
    return `${r.id}: waiting for ${minSamples} samples per arm (baseline ${samples.baseline}, canary ${samples.canary})`;
  }
  const p = `always-valid p=${r.alwaysValidPValue.toPrecision(2)}`;
  if (r.kind === 'error_rate') {
    const rates = `canary ${percent(r.canary.errorRate)} vs baseline ${percent(r.baseline.errorRate)}`;
    const effect = `difference ${points(r.effect.estimate)} [${points(r.effect.lower)}, ${points(r.effect.upper)}]`;
    const verdict =
      r.decision === 'fail'
        ? `exceeds tolerance ${points(r.tolerance)}`
        : r.decision === 'pass'
          ? `within tolerance ${points(r.tolerance)}`
          : `not yet decided against tolerance ${points(r.tolerance)}`;
    return `${r.id}: ${rates}, ${effect} ${verdict} (${p})`;
  }
  const q = r.quantile ?? 0.5;
  const pick = (s: MetricResult['canary']): number =>
    s.quantiles.find((x) => x.quantile === q)?.estimateNanos ?? NaN;
  const values = `canary ${millis(pick(r.canary))} vs baseline ${millis(pick(r.baseline))}`;
  const effect = `ratio ${ratio(r.effect.estimate)} [${ratio(r.effect.lower)}, ${ratio(r.effect.upper)}]`;
  const limit = ratio(1 + r.tolerance);
  // A latency fail comes from the two-sample mixture (quantile-two-sample.ts), which can decide while the
  // per-arm ratio bounds shown still reach below the limit; say so rather than look contradictory.
  const verdict =
    r.decision === 'fail'
      ? r.effect.lower > 1 + r.tolerance
        ? `exceeds tolerance ${limit}`
        : `exceeds tolerance ${limit} by the two-sample test (per-arm bounds not yet past it)`
      : r.decision === 'pass'
        ? `within tolerance ${limit}`
        : `not yet decided against ${limit}`;
  return `${r.id}: ${values}, ${effect} ${verdict} (${p})`;
}
